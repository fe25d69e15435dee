import BedsideCore
import BedsideServer
import Foundation
import Testing

/// WebSocket connection limits over real sockets: one client used to open 200 sockets in a
/// quarter of a second, and the benchmark 19,872 before the descriptor limit stopped it.
@Suite struct ConnectionLimitTests {
    /// Opens a socket to `session` that the server must refuse: upgraded, then one
    /// `too_many_connections` naming `flag`, then close 4429. (Read raw: see ``RawWebSocket``.)
    static func expectRefused(
        _ server: LiveServer,
        _ session: String,
        headers: [(String, String)] = [],
        naming flag: String
    ) async throws {
        let transcript = try await RawWebSocket.open(port: server.port, path: "/ws?session_id=\(session)", headers: headers)
        #expect(transcript.status == 101)
        #expect(transcript.texts.count == 1)
        let error = try JSONValue.parse(try #require(transcript.texts.first))
        #expect(error.type == "error")
        #expect(error.code == "too_many_connections")
        #expect(error["error"]?.stringValue?.contains(flag) == true, "\(error)")
        #expect(error.seq == nil)
        #expect(transcript.closeCode == 4429)
        #expect(transcript.closeReason == "too_many_connections")
    }

    static func refusals(_ server: LiveServer, _ limit: String) async throws -> Double {
        let (_, text) = try await server.get("/metrics")
        return try PrometheusText(text).samples.first { $0.name == "bedside_limit_refusals_total" && $0.labels["limit"] == limit }?.value
            ?? 0
    }

    @Test func theSeventeenthTabOfASessionIsRefusedAtTheDefault() async throws {
        let server = try await LiveServer.start()
        let session = newSessionID()
        var sockets: [TestSocket] = []
        for _ in 0..<16 { sockets.append(try await server.open(session)) }
        try await Self.expectRefused(server, session, naming: "--max-connections-per-session")
        let (status, body) = try await server.get("/ws?session_id=\(session)")
        #expect(status == 429)
        #expect(try JSONValue.parse(body).code == "too_many_connections")
        // Another session is not affected, and closing one tab frees its slot.
        let other = try await server.open(newSessionID())
        try await sockets.removeLast().close()
        let again = try await waitUntilOpen(server, session)
        try await again.send(Frame.message(session, "still here"))
        #expect(try await again.receiveTurn().last?.status == "completed")
        #expect(try await Self.refusals(server, "connections_per_session") == 1)
        for socket in sockets + [other, again] { try await socket.close() }
        try await server.stop()
    }

    @Test func theTwoHundredFiftySeventhSocketOfAnAddressIsRefusedAtTheDefault() async throws {
        let server = try await LiveServer.start()
        var sockets: [TestSocket] = []
        for index in 0..<256 { sockets.append(try await server.open("address-default-\(index)")) }
        try await Self.expectRefused(server, "address-default-256", naming: "--max-connections-per-address")
        #expect(try await Self.refusals(server, "connections_per_address") == 1)
        for socket in sockets { try await socket.close() }
        try await server.stop()
    }

    @Test func configuredPerAddressAndTotalLimits() async throws {
        let perAddress = try await LiveServer.start { $0.limits.maxConnectionsPerAddress = 3 }
        var sockets: [TestSocket] = []
        for index in 0..<3 { sockets.append(try await perAddress.open("per-address-\(index)")) }
        try await Self.expectRefused(perAddress, "per-address-3", naming: "--max-connections-per-address")
        try await sockets.removeFirst().close()
        sockets.append(try await waitUntilOpen(perAddress, "per-address-4"))
        for socket in sockets { try await socket.close() }
        try await perAddress.stop()

        let total = try await LiveServer.start { $0.limits.maxConnections = 2 }
        let first = try await total.open("total-limit-1")
        let second = try await total.open("total-limit-2")
        try await Self.expectRefused(total, "total-limit-3", naming: "--max-connections")
        #expect(try await total.get("/ws?session_id=total-limit-3").0 == 429)
        #expect(try await Self.refusals(total, "connections") == 1)
        try await first.close()
        let third = try await waitUntilOpen(total, "total-limit-3")
        for socket in [second, third] { try await socket.close() }
        try await total.stop()
    }

    @Test func aSpoofedForwardedForFromAnUntrustedPeerIsIgnored() async throws {
        let server = try await LiveServer.start { $0.limits.maxConnectionsPerAddress = 2 }
        let first = try await server.open("spoof-one", headers: ["X-Forwarded-For": "203.0.113.1"])
        let second = try await server.open("spoof-two", headers: ["X-Forwarded-For": "203.0.113.2"])
        // A third "client" is still 127.0.0.1: the header is not believed.
        try await Self.expectRefused(
            server,
            "spoof-three",
            headers: [("X-Forwarded-For", "203.0.113.3")],
            naming: "--max-connections-per-address"
        )
        for socket in [first, second] { try await socket.close() }
        try await server.stop()
    }

    @Test func aTrustedProxyNamesItsClients() async throws {
        let server = try await LiveServer.start {
            $0.limits.maxConnectionsPerAddress = 1
            $0.trustedProxies = ["127.0.0.0/8"]
        }
        let alice = try await server.open("proxied-one", headers: ["X-Forwarded-For": "203.0.113.1"])
        let bob = try await server.open("proxied-two", headers: ["X-Forwarded-For": "198.51.100.7, 203.0.113.2"])
        // The same client again, whatever it wrote to the left of what the proxy appended.
        try await Self.expectRefused(
            server,
            "proxied-three",
            headers: [("X-Forwarded-For", "198.51.100.99, 203.0.113.1")],
            naming: "--max-connections-per-address"
        )
        for socket in [alice, bob] { try await socket.close() }
        try await server.stop()
    }

    /// Opens a connection once the server has given back a closed one's slot (when that
    /// connection's handler ends, just after the close handshake).
    func waitUntilOpen(_ server: LiveServer, _ session: String) async throws -> TestSocket {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await server.get("/ws?session_id=\(session)").0 == 429 {
            guard ContinuousClock.now < deadline else { throw TestFailure("no slot freed for \(session)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await server.open(session)
    }
}
