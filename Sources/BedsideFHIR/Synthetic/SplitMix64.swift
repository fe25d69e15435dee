/// A small seeded generator (Steele, Lea and Flood's SplitMix64): same seed, same sequence, on every platform.
///
/// Synthetic patients must be reproducible byte for byte, which Foundation's system random is not.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A whole number in `range`, without modulo bias worth caring about for test data.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound + 1)
        return range.lowerBound + Int(next() % span)
    }

    /// A number in [0, 1).
    mutating func unit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }

    /// A number in `range`.
    mutating func double(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + unit() * (range.upperBound - range.lowerBound)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Roughly normal noise (the sum of three uniforms), mean 0 and about `spread` standard deviation.
    mutating func noise(_ spread: Double) -> Double {
        (unit() + unit() + unit() - 1.5) * 2 * spread
    }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    /// A UUID-shaped id (version 4 layout) drawn from the sequence.
    mutating func uuid() -> String {
        let high = next()
        let low = next()
        let hex = String(high, radix: 16).leftPadded(16) + String(low, radix: 16).leftPadded(16)
        let characters = Array(hex)
        var chunks: [String] = []
        var start = 0
        for length in [8, 4, 4, 4, 12] {
            chunks.append(String(characters[start..<(start + length)]))
            start += length
        }
        chunks[2] = "4" + chunks[2].dropFirst()
        return chunks.joined(separator: "-")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
