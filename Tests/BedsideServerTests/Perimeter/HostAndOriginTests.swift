import BedsideCore
import BedsideFHIR
import BedsideServer
import Foundation
import HummingbirdWSClient
import Testing

@testable import bedside

/// DNS rebinding, tried over real sockets: a page at `http://127.0.0.1.attacker.example:PORT`
/// whose name now points at 127.0.0.1 sends its own Host and Origin. Before, its upgrade got
/// 101, its import 201 and its MCP call 200; now every route answers 421 `host_not_allowed`.
@Suite struct HostAndOriginTests {
    static let patient = #"{"resourceType":"Patient","id":"rebound-1","name":[{"family":"Rebound"}]}"#
    static let initialize =
        #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#

    /// One request of each route class.
    static func routes(session: String) -> [(method: String, path: String, body: String?)] {
        [
            ("GET", "/health", nil), ("GET", "/ready", nil), ("GET", "/metrics", nil), ("GET", "/sessions", nil),
            ("GET", "/sessions/\(session)/events?after=0", nil), ("PATCH", "/sessions/\(session)", #"{"title":"x"}"#),
            ("POST", "/patient", patient), ("GET", "/patient/rebound-1", nil), ("GET", "/ws?session_id=\(session)", nil),
            ("POST", "/mcp", initialize), ("GET", "/", nil), ("GET", "/index.html", nil), ("GET", "/config.json", nil),
            ("GET", "/auth/me", nil), ("POST", "/auth/logout", nil), ("GET", "/auth/login", nil), ("GET", "/no-such-route", nil),
        ]
    }

    @Test func aRebindingPageIsRefusedOnEveryRoute() async throws {
        let fhir = try FHIRStore.inMemory()
        let metrics = BedsideMetrics()
        let server = try await LiveServer.start(
            patients: FHIRPatientRecords(store: fhir, maxImportBytes: 1 << 20),
            metrics: metrics,
            mcpEndpoint: EchoEndpoint()
        )
        let evil = "127.0.0.1.attacker.example:\(server.port)"
        let session = newSessionID()
        let routes = Self.routes(session: session)
        for route in routes {
            let answer = try await RawHTTP.perform(
                port: server.port,
                route.method,
                route.path,
                host: evil,
                headers: [
                    ("Origin", "http://\(evil)"), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
                ],
                body: route.body
            )
            #expect(answer.status == 421, "\(route.method) \(route.path): \(answer.status) \(answer.body)")
            #expect(try JSONValue.parse(answer.body).code == "host_not_allowed", "\(route.path)")
            #expect(try JSONValue.parse(answer.body)["error"]?.stringValue?.contains("--allowed-hosts") == true)
        }
        // The upgrade itself is refused, as a bare 400.
        let upgrade = try await RawHTTP.perform(
            port: server.port,
            "GET",
            "/ws?session_id=\(session)",
            host: evil,
            headers: [
                ("Origin", "http://\(evil)"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
            ]
        )
        #expect(upgrade.status == 400)
        #expect(try await fhir.isEmpty)
        let scraped = try PrometheusText(try await server.get("/metrics").1)
        let refusals = scraped.samples.first { $0.name == "bedside_limit_refusals_total" && $0.labels["limit"] == "host" }
        #expect(refusals?.value == Double(routes.count + 1))
        // The same page from the server's own origin is served.
        let own = "127.0.0.1:\(server.port)"
        let imported = try await RawHTTP.perform(
            port: server.port,
            "POST",
            "/patient",
            host: own,
            headers: [("Origin", "http://\(own)"), ("Content-Type", "application/fhir+json")],
            body: Self.patient
        )
        #expect(imported.status == 201, "\(imported.body)")
        let socket = try await TestSocket.connect(server.socketURL(session), origin: "http://\(own)")
        #expect(try await socket.receive().type == "connection")
        try await socket.close()
        try await server.stop()
    }

    @Test func onlyTheLoopbackNamesAndWellFormedHostsPass() async throws {
        let server = try await LiveServer.start()
        let port = server.port
        for host in ["127.0.0.1:\(port)", "localhost:\(port)", "LocalHost.:\(port)", "[::1]:\(port)", "127.0.0.1", "localhost"] {
            let answer = try await RawHTTP.perform(port: port, "GET", "/health", host: host)
            #expect(answer.status == 200, "\(host)")
        }
        for host in [
            "attacker.example:\(port)", "127.1:\(port)", "2130706433:\(port)", "0177.0.0.1:\(port)", "127.0.0.2:\(port)", "[::1:\(port)",
            "127.0.0.1:99999", "user@127.0.0.1", "localhost.attacker.example", "",
        ] {
            let answer = try await RawHTTP.perform(port: port, "GET", "/health", host: host)
            #expect(answer.status == 421, "\(host): \(answer.status)")
        }
        let missing = try await RawHTTP.perform(port: port, "GET", "/health", host: nil)
        #expect(missing.status == 421)
        let twice = try await RawHTTP.perform(
            port: port,
            "GET",
            "/health",
            host: "127.0.0.1:\(port)",
            headers: [("Host", "attacker.example")]
        )
        #expect(twice.status == 421)
        #expect(try JSONValue.parse(twice.body)["error"]?.stringValue?.contains("one Host") == true)
        try await server.stop()
    }

    @Test func allowedHostsAndWildcardsAreServed() async throws {
        let server = try await LiveServer.start { $0.allowedHosts = ["bedside.example.org", "*.clinic.example"] }
        for host in ["bedside.example.org", "bedside.example.org:443", "ward-3.clinic.example"] {
            #expect(try await RawHTTP.perform(port: server.port, "GET", "/health", host: host).status == 200, "\(host)")
        }
        for host in ["clinic.example", "example.org", "bedside.example.org.attacker.example"] {
            #expect(try await RawHTTP.perform(port: server.port, "GET", "/health", host: host).status == 421, "\(host)")
        }
        try await server.stop()
    }

    @Test func aLookAlikeOriginIsNotTheOwnOrigin() async throws {
        let fhir = try FHIRStore.inMemory()
        let server = try await LiveServer.start(
            patients: FHIRPatientRecords(store: fhir, maxImportBytes: 1 << 20),
            mcpEndpoint: EchoEndpoint()
        )
        let own = "127.0.0.1:\(server.port)"
        let session = newSessionID()
        for origin in ["http://127.0.0.1.attacker.example:\(server.port)", "http://localhost:3000", "http://127.0.0.1:3000"] {
            let socket = try await RawHTTP.perform(
                port: server.port,
                "GET",
                "/ws?session_id=\(session)",
                host: own,
                headers: [("Origin", origin)]
            )
            #expect(socket.status == 403, "\(origin)")
            #expect(try JSONValue.parse(socket.body).code == "origin_not_allowed")
            await #expect(throws: WebSocketClientError.webSocketUpgradeFailed) {
                _ = try await TestSocket.connect(server.socketURL(session), origin: origin)
            }
            let imported = try await RawHTTP.perform(
                port: server.port,
                "POST",
                "/patient",
                host: own,
                headers: [("Origin", origin), ("Content-Type", "application/fhir+json")],
                body: Self.patient
            )
            #expect(imported.status == 403, "\(origin)")
            let mcp = try await RawHTTP.perform(
                port: server.port,
                "POST",
                "/mcp",
                host: own,
                headers: [("Origin", origin), ("Content-Type", "application/json")],
                body: Self.initialize
            )
            #expect(mcp.status == 403, "\(origin)")
        }
        #expect(try await fhir.isEmpty)
        try await server.stop()

        // Another local port is an origin of its own: it is allowed when listed.
        let listed = try await LiveServer.start { $0.allowedOrigins = ["http://localhost:3000"] }
        let socket = try await TestSocket.connect(listed.socketURL(session), origin: "http://localhost:3000")
        #expect(try await socket.receive().type == "connection")
        try await socket.close()
        try await listed.stop()
    }
}
