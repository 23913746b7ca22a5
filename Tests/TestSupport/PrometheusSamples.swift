import Testing

/// The samples of a Prometheus text exposition: `name{labels}` → value.
public func prometheusSamples(_ text: String) -> [String: Double] {
    var samples: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        samples[String(line[..<space])] = value
    }
    return samples
}

/// Expects each of `expected` (sample name → value) among `samples`, one expectation per name, in name order.
public func expectSamples(
    _ samples: [String: Double], _ expected: [String: Double], sourceLocation: SourceLocation = #_sourceLocation
) {
    for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
        #expect(samples[name] == value, "\(name)", sourceLocation: sourceLocation)
    }
}
