import BedsideCore
import Foundation
import HummingbirdWSClient
import NIOWebSocket
import Testing

/// Requests refused before the upgrade, and the HTTP endpoints beside the socket.
@Suite struct UpgradeAndHTTPTests {
    @Test(arguments: ["short", "has space12", "bad/chars!x", String(repeating: "a", count: 129)])
    func aBadSessionIDIsRefusedBeforeUpgrade(_ session: String) async throws {
        let server = try await LiveServer.start()
        let escaped = session.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? session
        await #expect(throws: WebSocketClientError.webSocketUpgradeFailed) {
            _ = try await TestSocket.connect(server.socketURL(escaped))
        }
        let (status, body) = try await server.get("/ws?session_id=\(escaped)")
        #expect(status == 400)
        #expect(try JSONValue.parse(body).code == "invalid_session_id")
        try await server.stop()
    }

    @Test func aMissingSessionIDIsRefused() async throws {
        let server = try await LiveServer.start()
        await #expect(throws: WebSocketClientError.webSocketUpgradeFailed) {
            _ = try await TestSocket.connect("ws://127.0.0.1:\(server.port)/ws")
        }
        let (status, _) = try await server.get("/ws")
        #expect(status == 400)
        try await server.stop()
    }

    @Test func aForeignOriginIsRefusedAndAllowedOnesConnect() async throws {
        let server = try await LiveServer.start { $0.allowedOrigins = ["http://localhost:*", "https://bedside.example"] }
        let session = newSessionID()
        await #expect(throws: WebSocketClientError.webSocketUpgradeFailed) {
            _ = try await TestSocket.connect(server.socketURL(session), origin: "https://evil.example")
        }
        let (status, body) = try await server.get("/ws?session_id=\(session)", headers: ["Origin": "https://evil.example"])
        #expect(status == 403)
        #expect(try JSONValue.parse(body).code == "origin_not_allowed")

        for origin in ["http://localhost:3000", "https://bedside.example", "http://127.0.0.1:\(server.port)", nil] {
            let socket = try await TestSocket.connect(server.socketURL(session), origin: origin)
            #expect(try await socket.receive().type == "connection", "\(origin ?? "no origin")")
            try await socket.close()
        }
        try await server.stop()
    }

    @Test func aBadLastSeqIsRefused() async throws {
        let server = try await LiveServer.start()
        await #expect(throws: WebSocketClientError.webSocketUpgradeFailed) {
            _ = try await TestSocket.connect(server.socketURL(newSessionID()) + "&last_seq=-3")
        }
        try await server.stop()
    }

    @Test func aPlainGetOfAValidSocketURLAsksForAnUpgrade() async throws {
        let server = try await LiveServer.start()
        let (status, body) = try await server.get("/ws?session_id=\(newSessionID())")
        #expect(status == 426)
        #expect(try JSONValue.parse(body)["error"]?.stringValue?.contains("WebSocket") == true)
        try await server.stop()
    }

    @Test func healthAndReadiness() async throws {
        let server = try await LiveServer.start()
        let (healthStatus, health) = try await server.get("/health")
        #expect(healthStatus == 200)
        #expect(try JSONValue.parse(health).status == "ok")
        let (readyStatus, ready) = try await server.get("/ready")
        #expect(readyStatus == 200)
        let readiness = try JSONValue.parse(ready)
        #expect(readiness.status == "ready")
        #expect(readiness["checks"]?["store"]?.stringValue == "ok")
        #expect(readiness["checks"]?["turn_runner"]?.stringValue == "scripted test runner")
        try await server.stop()
    }

    @Test func readinessFailsWhenTheStoreIsUnreachable() async throws {
        let server = try await LiveServer.start(store: FailingStore())
        let (status, body) = try await server.get("/ready")
        #expect(status == 503)
        #expect(try JSONValue.parse(body)["checks"]?["store"]?.stringValue == "unavailable")
        try await server.stop()
    }

    @Test func sessionEventsEndpointPagesTheHistory() async throws {
        let server = try await LiveServer.start()
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "hello"))
        let live = try await socket.receiveTurn()

        let (status, body) = try await server.get("/sessions/\(session)/events?after=2&limit=3")
        #expect(status == 200)
        let page = try JSONValue.parse(body)
        guard case .array(let events)? = page["events"] else { throw TestFailure("no events array") }
        #expect(seqs(events) == [3, 4, 5])
        #expect(page["has_more"] == .bool(true))
        // Same shapes, byte for byte, as on the socket.
        #expect(events.first == live.first { $0.seq == 3 })

        let (_, rest) = try await server.get("/sessions/\(session)/events?after=5")
        #expect(try JSONValue.parse(rest)["has_more"] == .bool(false))

        for bad in ["/sessions/x/events", "/sessions/\(session)/events?after=-1", "/sessions/\(session)/events?limit=0"] {
            let (badStatus, badBody) = try await server.get(bad)
            #expect(badStatus == 400, "\(bad)")
            #expect(try JSONValue.parse(badBody).code != nil)
        }
        let (unknownStatus, unknown) = try await server.get("/sessions/\(newSessionID())/events")
        #expect(unknownStatus == 200)
        #expect(try JSONValue.parse(unknown)["events"] == .array([]))
        try await socket.close()
        try await server.stop()
    }
}

/// A store that went down after the server started: every call fails except the start-up
/// check for interrupted turns.
struct FailingStore: EventStore {
    struct Down: Error {}
    func append(_ events: [StoredEvent]) async throws { throw Down() }
    func events(in session: SessionID, after: Int64, through: Int64?, limit: Int?) async throws -> [StoredEvent] { throw Down() }
    func userEvent(in session: SessionID, clientMessageID: String) async throws -> StoredEvent? { throw Down() }
    func snapshot(of session: SessionID) async throws -> SessionSnapshot {
        // Fail the way an unreachable store does: after a while, not within microseconds of the
        // upgrade (a close that fast can race the client library's own upgrade handling).
        try await Task.sleep(for: .milliseconds(200))
        throw Down()
    }
    func unfinishedTurns() async throws -> [UnfinishedTurn] { [] }
    func ping() async throws { throw Down() }
}

@Suite struct StoreFailureTests {
    @Test func aStoreThatFailsAtStartStopsTheServerWithItsError() async throws {
        struct Broken: EventStore {
            func append(_ events: [StoredEvent]) async throws {}
            func events(in session: SessionID, after: Int64, through: Int64?, limit: Int?) async throws -> [StoredEvent] { [] }
            func userEvent(in session: SessionID, clientMessageID: String) async throws -> StoredEvent? { nil }
            func snapshot(of session: SessionID) async throws -> SessionSnapshot { .init() }
            func unfinishedTurns() async throws -> [UnfinishedTurn] { throw FailingStore.Down() }
            func ping() async throws {}
        }
        await #expect(throws: FailingStore.Down.self) {
            _ = try await LiveServer.start(store: Broken())
        }
    }

    @Test func aSessionWhoseStoreIsDownIsClosedWith1011() async throws {
        let server = try await LiveServer.start(store: FailingStore())
        let socket = try await TestSocket.connect(server.socketURL(newSessionID()))
        let error = try await socket.receive()
        #expect(error.type == "error")
        #expect(error.code == "internal")
        let close = try await socket.closed()
        #expect(close?.closeCode == .unexpectedServerError)
        let (status, body) = try await server.get("/sessions/\(newSessionID())/events")
        #expect(status == 500)
        #expect(try JSONValue.parse(body).code == "internal")
        let (missing, notFound) = try await server.get("/no/such/path")
        #expect(missing == 404)
        #expect(try JSONValue.parse(notFound).code == "not_found")
        try await server.stop()
    }
}
