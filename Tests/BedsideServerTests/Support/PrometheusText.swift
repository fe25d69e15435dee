/// Samples parsed from the Prometheus text exposition format, for tests that scrape `/metrics`.
struct PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let samples: [Sample]

    init(_ text: String) throws {
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw TestFailure("not a sample line: \(line)")
            }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else {
                samples.append(Sample(name: String(series), labels: [:], value: value))
                continue
            }
            guard series.hasSuffix("}") else { throw TestFailure("unterminated labels: \(line)") }
            samples.append(
                Sample(
                    name: String(series[..<brace]),
                    labels: try Self.labels(series[series.index(after: brace)..<series.index(before: series.endIndex)]),
                    value: value
                )
            )
        }
        self.samples = samples
    }

    /// `k="v",k2="v2"`, with `\"`, `\\` and `\n` escapes in values.
    private static func labels(_ text: Substring) throws -> [String: String] {
        var labels: [String: String] = [:]
        var rest = text[...]
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "=") else { throw TestFailure("bad labels: \(text)") }
            let key = String(rest[..<equals]).trimmingPrefix(",")
            rest = rest[rest.index(after: equals)...]
            guard rest.first == "\"" else { throw TestFailure("unquoted label value: \(text)") }
            rest = rest.dropFirst()
            var value = ""
            var escaped = false
            while let character = rest.first {
                rest = rest.dropFirst()
                if escaped {
                    value.append(character == "n" ? "\n" : character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    break
                } else {
                    value.append(character)
                }
            }
            labels[String(key)] = value
            if rest.first == "," { rest = rest.dropFirst() }
        }
        return labels
    }

    /// The value of the one sample named `name` whose labels include `labels`; nil if none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }
}
