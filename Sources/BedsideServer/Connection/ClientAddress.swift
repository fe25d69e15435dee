import HTTPTypes
import Hummingbird

/// The TCP peer of the connection the current request or socket arrived on.
///
/// ``LeanChildChannel`` sets it around everything it serves on a connection, so route handlers
/// and WebSocket handlers (whose request contexts do not carry the channel) can read it.
enum PeerAddress {
    /// Nil outside a connection, or when the peer is not an IP address.
    @TaskLocal static var current: IPAddress?
}

/// Who a request comes from, as far as per-address limits are concerned: the TCP peer, or,
/// only when that peer is a trusted proxy, the client its `X-Forwarded-For` names.
///
/// Of `X-Forwarded-For` (every such field, in order) it takes the right-most address that is
/// not itself a trusted proxy: each proxy appends the address it received the request from, so
/// everything to the left of that entry is what the client chose to send and is ignored. What
/// it deliberately does not do: read `Forwarded` or `X-Real-IP`, or trust any header from a
/// peer that is not listed.
struct ClientAddressResolver: Sendable {
    private let trusted: [AddressBlock]
    /// The entries of `--trusted-proxies` that are neither an address nor a CIDR block.
    let invalidEntries: [String]

    init(trustedProxies: [String]) {
        var blocks: [AddressBlock] = []
        var invalid: [String] = []
        for entry in trustedProxies {
            if let block = AddressBlock(entry) { blocks.append(block) } else { invalid.append(entry) }
        }
        trusted = blocks
        invalidEntries = invalid
    }

    /// The client address of a request from `peer` with these header fields, as text
    /// (`unknown` when the peer is not an IP address, e.g. a Unix socket).
    func clientAddress(peer: IPAddress?, headers: HTTPFields) -> String {
        guard let peer = peer?.unmapped else { return "unknown" }
        guard isTrusted(peer), let name = HTTPField.Name("X-Forwarded-For") else { return peer.description }
        let hops = headers[values: name].flatMap { $0.split(separator: ",") }
        var client = peer
        for hop in hops.reversed() {
            // Whatever a trusted proxy could not have written ends the walk: its right-hand
            // neighbour (a trusted proxy, or the peer) is the best that is known.
            guard let address = Self.address(inHop: hop) else { break }
            client = address
            if !isTrusted(address) { break }
        }
        return client.description
    }

    /// The current request's client address (``PeerAddress/current`` and its headers).
    func clientAddress(of request: Request) -> String {
        clientAddress(peer: PeerAddress.current, headers: request.headers)
    }

    private func isTrusted(_ address: IPAddress) -> Bool {
        trusted.contains { $0.contains(address) }
    }

    /// One `X-Forwarded-For` entry: an address, `[v6]`, `[v6]:port` or `v4:port`.
    private static func address(inHop raw: Substring) -> IPAddress? {
        var hop = raw
        while hop.first == " " || hop.first == "\t" { hop = hop.dropFirst() }
        while hop.last == " " || hop.last == "\t" { hop = hop.dropLast() }
        if hop.hasPrefix("["), let close = hop.firstIndex(of: "]") {
            return IPAddress(hop[hop.index(after: hop.startIndex)..<close])?.unmapped
        }
        if let address = IPAddress(hop) { return address.unmapped }
        let parts = hop.split(separator: ":")
        if parts.count == 2, parts[1].allSatisfy(\.isNumber) { return IPAddress(parts[0]) }
        return nil
    }
}
