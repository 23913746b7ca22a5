/// The continents a user may choose; anything else means `World`.
public enum Continent: String, Sendable, Hashable, CaseIterable, Codable {
    case world = "World"
    case africa = "Africa"
    case antarctica = "Antarctica"
    case asia = "Asia"
    case europe = "Europe"
    case northAmerica = "North America"
    case oceania = "Oceania"
    case southAmerica = "South America"

    /// Missing, empty or unknown continents are `World` (contract §1).
    public init(lenient text: String?) {
        self = text.flatMap(Continent.init(rawValue:)) ?? .world
    }
}
