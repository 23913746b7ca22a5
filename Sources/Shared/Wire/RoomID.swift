/// Generates cuid2-shaped ids: 24 characters, a lowercase letter first, then `[a-z0-9]`.
public struct RoomIDGenerator: Sendable {
    private var random: SplitMix64

    /// A generator seeded from the system's random source.
    public init() { self.random = SplitMix64(seed: UInt64.random(in: .min ... .max)) }

    /// A deterministic generator, for fixtures and tests.
    public init(seed: UInt64) { self.random = SplitMix64(seed: seed) }

    /// The next id.
    public mutating func next() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var id = String(letters[Int(random.next() % UInt64(letters.count))])
        for _ in 1..<24 {
            id.append(alphabet[Int(random.next() % UInt64(alphabet.count))])
        }
        return id
    }

    /// True when `id` has the shape this generator produces.
    public static func isValid(_ id: String) -> Bool {
        id.count == 24 && id.first!.isLowercase && id.first!.isLetter
            && id.allSatisfy { ($0.isLowercase && $0.isLetter && $0.isASCII) || ($0.isNumber && $0.isASCII) }
    }
}

/// A small, fast, seedable random source (SplitMix64), so that jitter and ids are reproducible in tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) { self.state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
