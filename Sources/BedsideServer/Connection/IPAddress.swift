/// An IPv4 or IPv6 address read strictly from its text form.
///
/// IPv4 is exactly four decimal numbers 0–255 without leading zeros (`127.0.0.1`); IPv6 is the
/// RFC 4291 text form, `::` and a trailing IPv4 part included, without brackets or a zone
/// (`::1`, `fe80::1`, `::ffff:10.0.0.1`). What it deliberately does not accept: the shorthand
/// forms old resolvers take (`127.1`, `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`), which would
/// let one address pass for another.
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6), in network order.
    let bytes: [UInt8]

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Reads `text` as an IPv4 or IPv6 address; nil when it is neither.
    init?(_ text: some StringProtocol) {
        let text = Substring(text)
        if let v4 = Self.parseIPv4(text) {
            self.init(bytes: v4)
        } else if text.contains(":"), let v6 = Self.parseIPv6(text) {
            self.init(bytes: v6)
        } else {
            return nil
        }
    }

    var isIPv4: Bool { bytes.count == 4 }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket reports for an
    /// IPv4 peer) as the IPv4 address it maps; any other address as it is.
    var unmapped: IPAddress {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else {
            return self
        }
        return IPAddress(bytes: Array(bytes[12..<16]))
    }

    /// `127.0.0.0/8` or `::1` (also in its IPv4-mapped form).
    var isLoopback: Bool {
        let address = unmapped
        if address.isIPv4 { return address.bytes[0] == 127 }
        return address.bytes == Array(repeating: 0, count: 15) + [1]
    }

    /// `0.0.0.0` or `::`: "every interface" when listening.
    var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }

    /// The canonical text: dotted decimal, or RFC 5952 (lowercase, the longest run of zero
    /// groups as `::`).
    var description: String {
        if isIPv4 { return bytes.map { String($0) }.joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        var best: Range<Int>?
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index >= 2, end - index > (best?.count ?? 0) { best = index..<end }
            index = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard let best else { return hex.joined(separator: ":") }
        return hex[..<best.lowerBound].joined(separator: ":") + "::" + hex[best.upperBound...].joined(separator: ":")
    }

    private static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part == "0" || part.first != "0", let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    private static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.count <= 45 else { return nil }
        let groups: [UInt16]
        if let gap = text.firstRange(of: "::") {
            let tail = text[gap.upperBound...]
            guard !tail.contains("::"), let left = parseGroups(text[..<gap.lowerBound], ipv4Tail: false),
                let right = parseGroups(tail, ipv4Tail: true), left.count + right.count <= 7
            else { return nil }
            groups = left + Array(repeating: 0, count: 8 - left.count - right.count) + right
        } else {
            guard let all = parseGroups(text, ipv4Tail: true), all.count == 8 else { return nil }
            groups = all
        }
        return groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// Colon-separated hex groups (an empty text is no group); the last may be an IPv4 address
    /// (two groups) when `ipv4Tail`.
    private static func parseGroups(_ text: Substring, ipv4Tail: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if ipv4Tail, index == parts.count - 1, part.contains(".") {
                guard let v4 = parseIPv4(part) else { return nil }
                groups += [UInt16(v4[0]) << 8 | UInt16(v4[1]), UInt16(v4[2]) << 8 | UInt16(v4[3])]
            } else {
                guard (1...4).contains(part.count), part.allSatisfy(\.isHexDigit), part.allSatisfy(\.isASCII),
                    let value = UInt16(part, radix: 16)
                else { return nil }
                groups.append(value)
            }
        }
        return groups
    }
}

/// An address block in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or one address (`10.0.0.1`).
struct AddressBlock: Hashable, Sendable {
    let network: IPAddress
    let prefixLength: Int

    /// Reads `text`; nil when it is not an address with an optional `/prefix` that fits it.
    init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0])?.unmapped else { return nil }
        let bits = address.bytes.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(parts[1]), (0...bits).contains(value) else {
                return nil
            }
            prefix = value
        }
        network = address
        prefixLength = prefix
    }

    /// Whether `address` lies in this block (an IPv4-mapped address counts as its IPv4 address).
    func contains(_ address: IPAddress) -> Bool {
        let candidate = address.unmapped
        guard candidate.bytes.count == network.bytes.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(network.bytes, candidate.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            guard mine & mask == theirs & mask else { return false }
            remaining -= 8
        }
        return true
    }
}
