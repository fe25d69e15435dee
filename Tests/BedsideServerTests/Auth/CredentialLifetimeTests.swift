import BedsideAuth
import BedsideCore
import Foundation
import Testing

/// A socket lives no longer than its credential: a revoked key (from another process or by an
/// admin), an expiring bearer token, a sign-out and an idle sign-in session each close it with
/// 4401 and their reason, within 5 seconds.
@Suite struct CredentialLifetimeTests {
    private func message(_ session: String, _ content: String) -> JSONValue {
        .object(["type": .string("message"), "session_id": .string(session), "content": .string(content)])
    }

    @Test func aKeyRevokedByAnotherProcessClosesItsSocketsAndIsRefusedAtOnce() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        let session = newSessionID("revoke")
        let first = try await rig.server.open(session, headers: rig.auth("alice"))
        let second = try await rig.server.open(newSessionID("revoke"), headers: rig.auth("alice"))
        let bobs = try await rig.server.open(newSessionID("bob"), headers: rig.auth("bob"))
        // `bedside keys revoke` opens the same file in another process: a second database handle.
        let cli = try AuthDatabase(path: rig.databasePath)
        let started = ContinuousClock.now
        _ = try #require(try cli.revokeKey("alice", now: Date()))
        let refused = try await rig.request("GET", "/sessions", as: "alice")
        #expect(refused.status == 401)
        for socket in [first, second] {
            let frame = try await socket.closed(timeout: .seconds(5))
            #expect(frame?.closeCode == .unknown(4401) && frame?.reason == "credential_revoked", "\(String(describing: frame))")
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(5))
        print("revoked key: sockets closed after \(elapsed)")
        // Bob's socket is untouched.
        try await bobs.send(message(newSessionID("x"), "hi"))
        #expect(try await bobs.receive().code == "session_mismatch")
        try await bobs.close()
    }

    @Test func anAdminRouteRevokesAKey() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        let socket = try await rig.server.open(newSessionID("admin"), headers: rig.auth("bob"))
        let bobID = try #require(rig.principals["bob"]?.subject)
        let notAdmin = try await rig.request("DELETE", "/keys/\(bobID)", as: "alice")
        #expect(notAdmin.status == 403)
        let started = ContinuousClock.now
        let revoked = try await rig.request("DELETE", "/keys/\(bobID)", as: "ada")
        #expect(revoked.status == 204)
        let frame = try await socket.closed(timeout: .seconds(5))
        #expect(frame?.closeCode == .unknown(4401) && frame?.reason == "credential_revoked")
        print("admin-revoked key: socket closed after \(ContinuousClock.now - started)")
        let again = try await rig.request("DELETE", "/keys/\(bobID)", as: "ada")
        #expect(again.status == 404)
        // A key made over the admin route is shown once and works.
        let created = try await rig.request("POST", "/keys", as: "ada", body: #"{"name":"ci-import","role":"importer"}"#)
        #expect(created.status == 201)
        let secret = try #require(try JSONValue.parse(created.body)["key"]?.stringValue)
        let me = try await rig.request("GET", "/auth/me", as: nil, headers: ["Authorization": "Bearer \(secret)"])
        #expect(me.body.contains(#""roles":["importer"]"#) && me.body.contains(#""method":"key""#), "\(me.body)")
        let list = try await rig.request("GET", "/keys", as: "ada")
        #expect(!list.body.contains(secret) && list.body.contains("ci-import"))
    }

    @Test func anExpiringBearerTokenClosesItsSocket() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        // Its exp is issued + 300 s, to the second: between issued + 299 and issued + 300.
        let issued = Date()
        let token = try await rig.issuer.token(
            subject: "carol",
            audience: AuthRig.audience,
            lifetime: 300,
            claims: ["name": .string("Carol Jones"), "roles": .array([.string("clinician")])]
        )
        let headers = ["Authorization": "Bearer \(token)"]
        let me = try await rig.request("GET", "/auth/me", as: nil, headers: headers)
        #expect(me.status == 200 && me.body.contains("Carol Jones") && me.body.contains(#""method":"bearer""#), "\(me.body)")
        let session = newSessionID("jwt")
        let socket = try await rig.server.open(session, headers: headers)
        try await socket.send(message(session, "hello"))
        _ = try await socket.receiveTurn()
        // A minute before exp the socket stays; past exp and the verifier's leeway (1 s in the rig) it closes.
        rig.clock.move(to: issued.addingTimeInterval(240))
        try await socket.expectSilence(for: .seconds(1))
        rig.clock.move(to: issued.addingTimeInterval(302))
        let frame = try await socket.closed(timeout: .seconds(5))
        #expect(frame?.closeCode == .unknown(4401) && frame?.reason == "token_expired", "\(String(describing: frame))")
        let after = try await rig.request("GET", "/auth/me", as: nil, headers: headers)
        #expect(after.status == 401)
        // A token for another audience is refused.
        let foreign = try await rig.issuer.token(subject: "carol", audience: "another-api")
        #expect(try await rig.request("GET", "/sessions", as: nil, headers: ["Authorization": "Bearer \(foreign)"]).status == 401)
    }

    @Test func signOutClosesTheSessionsSocketsAndTheCookieStopsWorking() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        let dana = Principal(issuer: rig.issuer.issuer, subject: "dana", name: "Dana", roles: [.clinician])
        let (_, token) = try rig.database.createWebSession(principal: dana, idToken: nil, now: Date(), lifetime: 3600)
        let cookie = ["Cookie": "bedside_session=\(token)"]
        let session = newSessionID("cookie")
        let socket = try await rig.server.open(session, headers: cookie)
        let list = try await rig.request("GET", "/sessions", as: nil, headers: cookie)
        #expect(list.status == 200)
        let started = ContinuousClock.now
        let logout = try await rig.request("POST", "/auth/logout", as: nil, headers: cookie)
        #expect(logout.status == 200 && logout.headers["set-cookie"]?.contains("Max-Age=0") == true)
        let frame = try await socket.closed(timeout: .seconds(5))
        #expect(frame?.closeCode == .unknown(4401) && frame?.reason == "signed_out")
        print("sign-out: socket closed after \(ContinuousClock.now - started)")
        #expect(try await rig.request("GET", "/sessions", as: nil, headers: cookie).status == 401)
    }

    @Test func anIdleSignInSessionEndsAndItsSocketCloses() async throws {
        let rig = try await AuthRig.start(idleTimeout: 1800, sessionLifetime: 43_200)
        defer { Task { try? await rig.stop() } }
        let erin = Principal(issuer: rig.issuer.issuer, subject: "erin", name: "Erin", roles: [.clinician])
        let (_, token) = try rig.database.createWebSession(principal: erin, idToken: nil, now: rig.clock.now(), lifetime: 43_200)
        let cookie = ["Cookie": "bedside_session=\(token)"]
        let session = newSessionID("idle")
        let socket = try await rig.server.open(session, headers: cookie)
        // A message is activity: 20 minutes later, and 20 more, the sign-in still holds.
        rig.clock.advance(by: 1200)
        try await socket.send(message(session, "still here"))
        _ = try await socket.receiveTurn()
        rig.clock.advance(by: 1200)
        try await socket.expectSilence(for: .seconds(1))
        // Then half an hour with nothing: the sign-in has idled out.
        rig.clock.advance(by: 1801)
        let frame = try await socket.closed(timeout: .seconds(5))
        #expect(frame?.closeCode == .unknown(4401) && frame?.reason == "session_expired", "\(String(describing: frame))")
        #expect(try await rig.request("GET", "/sessions", as: nil, headers: cookie).status == 401)
    }

    @Test func aSignInSessionEndsAtItsLifetimeWhateverItsActivity() async throws {
        let rig = try await AuthRig.start(idleTimeout: 1800, sessionLifetime: 43_200)
        defer { Task { try? await rig.stop() } }
        let fay = Principal(issuer: rig.issuer.issuer, subject: "fay", name: "Fay", roles: [.clinician])
        let (_, token) = try rig.database.createWebSession(principal: fay, idToken: nil, now: rig.clock.now(), lifetime: 3600)
        let cookie = ["Cookie": "bedside_session=\(token)"]
        let socket = try await rig.server.open(newSessionID("lifetime"), headers: cookie)
        for _ in 0..<3 {
            rig.clock.advance(by: 1000)
            #expect(try await rig.request("GET", "/auth/me", as: nil, headers: cookie).status == 200)
        }
        rig.clock.advance(by: 601)
        let frame = try await socket.closed(timeout: .seconds(5))
        #expect(frame?.closeCode == .unknown(4401) && frame?.reason == "session_expired")
        #expect(try await rig.request("GET", "/auth/me", as: nil, headers: cookie).status == 401)
    }

    @Test func anMCPEventStreamEndsWhenItsKeyIsRevoked() async throws {
        let rig = try await AuthRig.start(mcpEndpoint: OpenStreamEndpoint())
        defer { Task { try? await rig.stop() } }
        let stream = try await EventStreamReader.open(port: rig.server.port, path: "/mcp", headers: rig.auth("alice"))
        #expect(stream.status == 200)
        #expect(try await stream.next()?.event == "open")
        let updates = try await EventStreamReader.open(port: rig.server.port, path: "/sessions/updates", headers: rig.auth("alice"))
        #expect(try await updates.next()?.event == "ready")
        _ = try #require(try AuthDatabase(path: rig.databasePath).revokeKey("alice", now: Date()))
        #expect(try await stream.next(timeout: .seconds(5)) == nil)
        #expect(stream.ended, "the MCP stream was closed, not left open")
        #expect(try await updates.next(timeout: .seconds(5)) == nil)
        #expect(updates.ended, "the update stream was closed too")
        stream.close()
        updates.close()
    }
}

/// An MCP endpoint whose every answer is an event stream that sends one event and stays open.
struct OpenStreamEndpoint: MCPEndpoint {
    func handle(_ request: EndpointRequest) async -> EndpointResponse {
        let chunks = AsyncThrowingStream<[UInt8], any Error> { continuation in
            continuation.yield(Array("event: open\ndata: {}\n\n".utf8))
        }
        return EndpointResponse(status: 200, headers: ["Content-Type": "text/event-stream"], body: .stream(chunks))
    }

    func shutdown() async {}
}
