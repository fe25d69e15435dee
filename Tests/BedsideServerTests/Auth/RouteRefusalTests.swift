import BedsideCore
import BedsideFHIR
import BedsideServer
import Foundation
import Testing

@testable import bedside

/// Every route of the protocol document, tried as an attacker would: with no credential, with
/// a forged one, and as another principal. Another principal's session must not show: not its
/// events, its audit, its title, nor whether it exists.
@Suite struct RouteRefusalTests {
    /// One route: its method and path (with `{id}` for alice's session id) and a body.
    struct Route: CustomStringConvertible {
        var method: String
        var path: String
        var body: String?
        var description: String { "\(method) \(path)" }
    }

    static let sessionID = "alice-private-1"

    /// Routes that need a credential, in the protocol document's order.
    static let guarded: [Route] = [
        Route(method: "GET", path: "/sessions"),
        Route(method: "GET", path: "/sessions/updates"),
        Route(method: "PATCH", path: "/sessions/{id}", body: #"{"title":"mine now"}"#),
        Route(method: "DELETE", path: "/sessions/{id}"),
        Route(method: "GET", path: "/sessions/{id}/events?after=0"),
        Route(method: "GET", path: "/sessions/{id}/audit"),
        Route(method: "GET", path: "/sessions/{id}/export?format=json"),
        Route(method: "GET", path: "/sessions/{id}/export?format=markdown"),
        Route(method: "GET", path: "/principals"),
        Route(method: "GET", path: "/principals/{alice}/sessions"),
        Route(method: "GET", path: "/principals/{alice}/sessions/{id}/events"),
        Route(method: "GET", path: "/principals/{alice}/sessions/{id}/audit"),
        Route(method: "GET", path: "/principals/{alice}/sessions/{id}/export"),
        Route(method: "GET", path: "/audit?patient=patient-1"),
        Route(method: "GET", path: "/keys"),
        Route(method: "POST", path: "/keys", body: #"{"name":"intruder","role":"admin"}"#),
        Route(method: "DELETE", path: "/keys/{alicekey}"),
        Route(method: "GET", path: "/auth/me"),
        Route(method: "GET", path: "/metrics"),
        Route(method: "POST", path: "/patient", body: #"{"resourceType":"Patient","id":"x1"}"#),
        Route(method: "GET", path: "/patient/patient-1"),
        Route(method: "GET", path: "/ws?session_id={id}"),
        Route(method: "POST", path: "/mcp", body: #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#),
        Route(method: "GET", path: "/mcp"),
        Route(method: "DELETE", path: "/mcp"),
    ]

    /// Routes open to all, and what they answer.
    static let open: [(Route, Int)] = [
        (Route(method: "GET", path: "/health"), 200),
        (Route(method: "GET", path: "/ready"), 200),
        (Route(method: "GET", path: "/config.json"), 200),
        (Route(method: "GET", path: "/"), 200),
        (Route(method: "GET", path: "/.well-known/oauth-protected-resource"), 200),
    ]

    private func fill(_ path: String, _ rig: AuthRig) throws -> String {
        let aliceKeyID = try #require(rig.principals["alice"]?.subject)
        return path.replacingOccurrences(of: "{id}", with: Self.sessionID)
            .replacingOccurrences(of: "{alicekey}", with: aliceKeyID)
            .replacingOccurrences(of: "{alice}", with: rig.key("alice"))
    }

    /// Alice's session with one turn and one audit record of patient-1.
    private func seed(_ rig: AuthRig) async throws {
        _ = try await rig.chat(Self.sessionID, as: "alice", "What about patient one?")
        let owned = try #require(SessionID(Self.sessionID, owner: rig.key("alice")))
        try await rig.store.record(
            AccessRecord(
                sessionID: owned,
                turnID: nil,
                toolCallID: "call-1",
                tool: "search_clinical",
                patientIDs: ["patient-1"],
                resources: ["Condition/c-1"],
                timeMicros: 1
            )
        )
    }

    @Test func everyGuardedRouteRefusesNoCredentialAndForgedOnes() async throws {
        let rig = try await AuthRig.start(mcpEndpoint: EchoEndpoint())
        defer { Task { try? await rig.stop() } }
        try await seed(rig)
        var table: [String] = []
        for route in Self.guarded {
            let path = try fill(route.path, rig)
            let forged: [(String, [String: String])] = [
                ("none", [:]),
                ("unknown key", ["Authorization": "Bearer bsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]),
                ("malformed", ["Authorization": "Bearer not-a-token"]),
                ("basic", ["Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="]),
                ("cookie", ["Cookie": "bedside_session=forged-session-token"]),
            ]
            var row: [String] = []
            for (label, headers) in forged {
                let answer = try await rig.request(route.method, path, as: nil, body: route.body, headers: headers)
                #expect(answer.status == 401, "\(route) with \(label): \(answer.status) \(answer.body)")
                #expect(answer.body.contains(#""code":"unauthenticated""#), "\(route) with \(label): \(answer.body)")
                #expect(answer.headers["www-authenticate"]?.hasPrefix("Bearer") == true, "\(route) with \(label)")
                #expect(!answer.body.contains("alice") && !answer.body.contains("patient one"), "\(route) leaks: \(answer.body)")
                row.append("\(answer.status)")
            }
            table.append("| `\(route)` | \(row[0]) `unauthenticated` |")
        }
        for (route, status) in Self.open {
            let answer = try await rig.request(route.method, route.path, as: nil)
            #expect(answer.status == status, "\(route): \(answer.status)")
            table.append("| `\(route)` | \(answer.status) (open) |")
        }
        if let out = ProcessInfo.processInfo.environment["BEDSIDE_ROUTE_TABLE"] {
            try (table.joined(separator: "\n") + "\n").write(toFile: out + ".none", atomically: true, encoding: .utf8)
        }
    }

    @Test func anotherPrincipalSeesNothingOfAlicesSession() async throws {
        let rig = try await AuthRig.start(mcpEndpoint: EchoEndpoint())
        defer { Task { try? await rig.stop() } }
        try await seed(rig)
        var table: [String] = []
        // The update stream stays open by design: CredentialLifetimeTests read it.
        for route in Self.guarded where route.path != "/sessions/updates" {
            let path = try fill(route.path, rig)
            // Bob names alice's session; the answer must equal that for an id nobody has.
            let answer = try await rig.request(route.method, path, as: "bob", body: route.body)
            let neverPath = path.replacingOccurrences(of: Self.sessionID, with: "nobody-has-this-1")
            let never = try await rig.request(route.method, neverPath, as: "bob", body: route.body)
            #expect(!answer.body.contains("patient one") && !answer.body.contains("c-1"), "\(route) leaks: \(answer.body)")
            if path.contains(Self.sessionID), route.path.hasPrefix("/sessions/") {
                #expect(answer.status == never.status, "\(route): \(answer.status) vs \(never.status)")
                #expect(
                    answer.body.replacingOccurrences(of: Self.sessionID, with: "nobody-has-this-1") == never.body,
                    "\(route): \(answer.body) vs \(never.body)"
                )
            }
            table.append("| `\(route)` | \(answer.status) \(Self.code(answer.body)) |")
        }
        // Alice still has everything.
        let history = try await rig.request("GET", "/sessions/\(Self.sessionID)/events?after=0", as: "alice")
        #expect(history.status == 200 && history.body.contains("What about patient one?"))
        let list = try await rig.request("GET", "/sessions", as: "alice")
        #expect(list.body.contains(Self.sessionID))
        let bobs = try await rig.request("GET", "/sessions", as: "bob")
        #expect(bobs.body == #"{"sessions":[],"next":null}"#, "\(bobs.body)")
        let renamed = try await rig.request("GET", "/sessions", as: "alice")
        #expect(!renamed.body.contains("mine now"))
        if let out = ProcessInfo.processInfo.environment["BEDSIDE_ROUTE_TABLE"] {
            try (table.joined(separator: "\n") + "\n").write(toFile: out + ".other", atomically: true, encoding: .utf8)
        }
    }

    @Test func theSocketOfAnotherPrincipalNeverReachesAlicesSession() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        try await seed(rig)
        // Bob resumes alice's id from 0: he gets his own, empty session.
        let socket = try await TestSocket.connect(rig.server.socketURL(Self.sessionID, lastSeq: 0), headers: rig.auth("bob"))
        let hello = try await socket.receive()
        #expect(hello.type == "connection" && hello["latest_seq"]?.integerValue == 0)
        try await socket.send(.object(["type": .string("resume"), "session_id": .string(Self.sessionID), "last_seq": .integer(0)]))
        #expect(try await socket.receive().type == "connection")
        try await socket.expectSilence()
        try await socket.send(
            .object(["type": .string("message"), "session_id": .string(Self.sessionID), "content": .string("bob writes here")])
        )
        let turn = try await socket.receiveTurn()
        #expect(turn.first?.seq == 1)
        try await socket.close()
        let alice = try await rig.request("GET", "/sessions/\(Self.sessionID)/events?after=0", as: "alice")
        #expect(!alice.body.contains("bob writes here"))
        // No credential: the upgrade is refused.
        await #expect(throws: (any Error).self) {
            _ = try await TestSocket.connect(rig.server.socketURL(Self.sessionID, lastSeq: 0))
        }
        // The auditor and the importer may not chat.
        for name in ["audrey", "ivan"] {
            await #expect(throws: (any Error).self) {
                _ = try await TestSocket.connect(rig.server.socketURL(Self.sessionID), headers: rig.auth(name))
            }
            let diagnosis = try await rig.request("GET", "/ws?session_id=\(Self.sessionID)", as: name)
            #expect(diagnosis.status == 403 && diagnosis.body.contains(#""code":"forbidden""#))
        }
    }

    @Test func rolesDecideTheRoutesThatNameAnOwner() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        try await seed(rig)
        let alice = rig.key("alice")
        for name in ["alice", "bob", "ivan"] {
            for path in ["/principals", "/principals/\(alice)/sessions", "/audit?patient=patient-1", "/keys", "/metrics"] {
                let answer = try await rig.request("GET", path, as: name)
                #expect(answer.status == 403 && answer.body.contains(#""code":"forbidden""#), "\(name) \(path): \(answer.status)")
            }
        }
        for name in ["audrey", "ada"] {
            let sessions = try await rig.request("GET", "/principals/\(alice)/sessions", as: name)
            #expect(sessions.status == 200 && sessions.body.contains(Self.sessionID), "\(name): \(sessions.body)")
            let events = try await rig.request("GET", "/principals/\(alice)/sessions/\(Self.sessionID)/events", as: name)
            #expect(events.body.contains("What about patient one?"))
            let audit = try await rig.request("GET", "/principals/\(alice)/sessions/\(Self.sessionID)/audit", as: name)
            #expect(audit.body.contains("Condition/c-1"))
            let patient = try await rig.request("GET", "/audit?patient=patient-1", as: name)
            #expect(patient.body.contains(#""owner":"\#(alice)""#) && patient.body.contains(#""name":"alice""#), "\(patient.body)")
            let principals = try await rig.request("GET", "/principals", as: name)
            #expect(principals.body.contains(alice) && principals.body.contains(rig.key("bob")))
        }
        // The auditor's own namespace holds nothing of alice's.
        let own = try await rig.request("GET", "/sessions/\(Self.sessionID)/events", as: "audrey")
        #expect(!own.body.contains("patient one"))
        // The importer may import, a clinician may not; a clinician may read a patient.
        let clinicianImport = try await rig.request("POST", "/patient", as: "alice", body: "{}")
        #expect(clinicianImport.status == 403)
        let importerImport = try await rig.request("POST", "/patient", as: "ivan", body: "{}")
        #expect(importerImport.status == 503, "no clinical store in this rig: \(importerImport.body)")
        let metrics = try await rig.request(
            "GET",
            "/metrics",
            as: nil,
            headers: ["Authorization": "Bearer \(AuthRig.metricsToken)"]
        )
        #expect(metrics.status == 200)
        let wrongToken = try await rig.request("GET", "/metrics", as: nil, headers: ["Authorization": "Bearer metrics-token-for-test"])
        #expect(wrongToken.status == 401)
    }

    static func code(_ body: String) -> String {
        guard let code = (try? JSONValue.parse(body))?["code"]?.stringValue else { return "" }
        return "`\(code)`"
    }
}

/// An MCP endpoint that answers every request with 200 and the principal it was told.
struct EchoEndpoint: MCPEndpoint {
    func handle(_ request: EndpointRequest) async -> EndpointResponse {
        EndpointResponse(status: 200, headers: ["Content-Type": "text/plain"], body: .bytes(Array(request.principal.utf8)))
    }

    func shutdown() async {}
}

/// Imports and reads of a patient over HTTP are in the caller's access audit and the patient audit.
@Suite struct PatientAuditTests {
    @Test func importsAndReadsAreAuditedWithTheirPrincipal() async throws {
        let fhir = try FHIRStore.inMemory()
        let rig = try await AuthRig.start(patients: FHIRPatientRecords(store: fhir, maxImportBytes: 32 << 20))
        defer { Task { try? await rig.stop() } }
        let patient = #"{"resourceType":"Patient","id":"audited-1","name":[{"family":"Audit","given":["Ada"]}]}"#
        let imported = try await rig.request("POST", "/patient", as: "ivan", body: patient)
        #expect(imported.status == 201, "\(imported.body)")
        let read = try await rig.request("GET", "/patient/audited-1", as: "alice")
        #expect(read.status == 200)
        let own = try await rig.request("GET", "/sessions/http-patient/audit", as: "alice")
        #expect(own.body.contains(#""tool":"read_patient""#) && own.body.contains("Patient/audited-1"), "\(own.body)")
        let bobs = try await rig.request("GET", "/sessions/http-patient/audit", as: "bob")
        #expect(!bobs.body.contains("audited-1"))
        let all = try JSONValue.parse(try await rig.request("GET", "/audit?patient=audited-1", as: "audrey").body)
        guard case .array(let records)? = all["records"] else { throw TestFailure("no records") }
        #expect(records.map { $0["tool"]?.stringValue } == ["import_patient", "read_patient"])
        #expect(records.map { $0["principal"]?["name"]?.stringValue } == ["ivan", "alice"])
        // A read of a patient that is not there reads nothing and is not audited.
        #expect(try await rig.request("GET", "/patient/missing-1", as: "alice").status == 404)
        #expect(try await rig.request("GET", "/audit?patient=missing-1", as: "audrey").body.contains(#""records":[]"#))
    }
}
