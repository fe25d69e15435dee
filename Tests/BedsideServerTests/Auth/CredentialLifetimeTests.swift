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
        let token = try await rig.issuer.token(
            subject: "carol",
            audience: AuthRig.audience,
            lifetime: 3,
            claims: ["name": .string("Carol Jones"), "roles": .array([.string("clinician")])]
        )
        let headers = ["Authorization": "Bearer \(token)"]
        let me = try await rig.request("GET", "/auth/me", as: nil, headers: headers)
        #expect(me.status == 200 && me.body.contains("Carol Jones") && me.body.contains(#""method":"bearer""#), "\(me.body)")
        let socket = try await rig.server.open(newSessionID("jwt"), headers: headers)
        let frame = try await socket.closed(timeout: .seconds(8))
        #expect(frame?.closeCode == .unknown(4401) && frame?.reason == "token_expired", "\(String(describing: frame))")
        let after = try await rig.request("GET", "/auth/me", as: nil, headers: headers)
        #expect(after.status == 401)
        // A token for another audience, or from nobody's key, is refused.
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
        let rig = try await AuthRig.start(idleTimeout: 2)
        defer { Task { try? await rig.stop() } }
        let erin = Principal(issuer: rig.issuer.issuer, subject: "erin", name: "Erin", roles: [.clinician])
        let (_, token) = try rig.database.createWebSession(principal: erin, idToken: nil, now: Date(), lifetime: 3600)
        let socket = try await rig.server.open(newSessionID("idle"), headers: ["Cookie": "bedside_session=\(token)"])
        let frame = try await socket.closed(timeout: .seconds(8))
        #expect(frame?.closeCode == .unknown(4401) && frame?.reason == "session_expired", "\(String(describing: frame))")
        let after = try await rig.request("GET", "/sessions", as: nil, headers: ["Cookie": "bedside_session=\(token)"])
        #expect(after.status == 401)
    }
}
