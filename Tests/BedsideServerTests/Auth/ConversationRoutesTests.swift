import BedsideCore
import Foundation
import Testing

/// The caller's conversation list, rename, delete, export and the per-user update stream.
@Suite struct ConversationRoutesTests {
    @Test func theListIsTheCallersOwnNewestFirstAndPaged() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        let ids = (1...3).map { "alice-list-\($0)-session" }
        for (index, id) in ids.enumerated() { _ = try await rig.chat(id, as: "alice", "Question number \(index + 1)\nsecond line") }
        _ = try await rig.chat("bob-only-session", as: "bob")
        let page = try JSONValue.parse(try await rig.request("GET", "/sessions?limit=2", as: "alice").body)
        guard case .array(let first)? = page["sessions"] else { throw TestFailure("no sessions") }
        #expect(first.map { $0["id"]?.stringValue } == [ids[2], ids[1]])
        #expect(first[0]["title"]?.stringValue == "Question number 3")
        #expect(first[0]["turn_count"]?.integerValue == 1 && first[0]["last_turn_status"]?.stringValue == "completed")
        let next = try #require(page["next"]?.stringValue)
        let rest = try JSONValue.parse(try await rig.request("GET", "/sessions?limit=2&before=\(next)", as: "alice").body)
        guard case .array(let second)? = rest["sessions"] else { throw TestFailure("no sessions") }
        #expect(second.map { $0["id"]?.stringValue } == [ids[0]])
        #expect(rest["next"] == .null)
        let bad = try await rig.request("GET", "/sessions?before=garbage", as: "alice")
        #expect(bad.status == 400 && bad.body.contains("invalid_message"))
    }

    @Test func renameAndDeleteActOnTheCallersSessionAndKeepTheAudit() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        let id = "alice-delete-session"
        _ = try await rig.chat(id, as: "alice")
        let owned = try #require(SessionID(id, owner: rig.key("alice")))
        try await rig.store.record(
            AccessRecord(
                sessionID: owned,
                turnID: nil,
                toolCallID: "c",
                tool: "search_clinical",
                patientIDs: ["p-9"],
                resources: ["Observation/o-1"],
                timeMicros: 5
            )
        )
        let renamed = try await rig.request("PATCH", "/sessions/\(id)", as: "alice", body: #"{"title":"  Ward round  "}"#)
        #expect(renamed.status == 200 && renamed.body.contains(#""title":"Ward round""#), "\(renamed.body)")
        let empty = try await rig.request("PATCH", "/sessions/\(id)", as: "alice", body: #"{"title":"   "}"#)
        #expect(empty.status == 400)
        let notJSON = try await rig.request("PATCH", "/sessions/\(id)", as: "alice", body: "title=x")
        #expect(notJSON.status == 400 && notJSON.body.contains("invalid_message"))

        let socket = try await rig.server.open(id, headers: rig.auth("alice"))
        let deleted = try await rig.request("DELETE", "/sessions/\(id)", as: "alice")
        #expect(deleted.status == 204)
        let frame = try await socket.closed(timeout: .seconds(5))
        #expect(frame?.closeCode == .unknown(4404) && frame?.reason == "session_deleted")
        #expect(try await rig.request("DELETE", "/sessions/\(id)", as: "alice").status == 404)
        let events = try await rig.request("GET", "/sessions/\(id)/events", as: "alice")
        #expect(events.body.contains(#""events":[]"#))
        let audit = try await rig.request("GET", "/sessions/\(id)/audit", as: "alice")
        #expect(audit.body.contains("Observation/o-1"), "the audit outlives the conversation")
        let list = try await rig.request("GET", "/sessions", as: "alice")
        #expect(!list.body.contains(id))
        // The same id starts afresh.
        let again = try await rig.chat(id, as: "alice")
        #expect(again.first?.seq == 1)
    }

    @Test func exportGivesTheWholeConversationAsJSONAndMarkdown() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        let id = "alice-export-session"
        _ = try await rig.chat(id, as: "alice", "Show **her** labs")
        let owned = try #require(SessionID(id, owner: rig.key("alice")))
        try await rig.store.record(
            AccessRecord(
                sessionID: owned,
                turnID: nil,
                toolCallID: "call-1",
                tool: "search",
                patientIDs: ["p-1"],
                resources: ["Observation/hba1c-1"],
                timeMicros: 9
            )
        )
        let json = try await rig.request("GET", "/sessions/\(id)/export?format=json", as: "alice")
        #expect(json.status == 200 && json.headers["content-disposition"]?.contains("bedside-\(id).json") == true)
        let parsed = try JSONValue.parse(json.body)
        guard case .array(let events)? = parsed["events"], case .array(let audit)? = parsed["audit"] else {
            throw TestFailure("export lacks events or audit: \(json.body)")
        }
        let history = try await rig.request("GET", "/sessions/\(id)/events?after=0", as: "alice")
        guard case .array(let stored)? = try JSONValue.parse(history.body)["events"] else { throw TestFailure("no history") }
        #expect(events == stored)
        #expect(audit.count == 1 && parsed["trace_ids"] != nil && parsed["session"]?["id"]?.stringValue == id)
        let markdown = try await rig.request("GET", "/sessions/\(id)/export?format=markdown", as: "alice")
        #expect(markdown.headers["content-type"]?.hasPrefix("text/markdown") == true)
        #expect(markdown.body.contains("> Show **her** labs"))
        #expect(markdown.body.contains("Tool call `search`") && markdown.body.contains("`Observation/hba1c-1`"), "\(markdown.body)")
        #expect(markdown.body.contains("**Assistant**"))
        let unknown = try await rig.request("GET", "/sessions/never-was-here/export", as: "alice")
        #expect(unknown.status == 404)
        let badFormat = try await rig.request("GET", "/sessions/\(id)/export?format=pdf", as: "alice")
        #expect(badFormat.status == 400)
    }

    @Test func theUpdateStreamTellsOnlyTheOwner() async throws {
        let rig = try await AuthRig.start()
        defer { Task { try? await rig.stop() } }
        let alice = try await EventStreamReader.open(port: rig.server.port, path: "/sessions/updates", headers: rig.auth("alice"))
        let bob = try await EventStreamReader.open(port: rig.server.port, path: "/sessions/updates", headers: rig.auth("bob"))
        #expect(alice.status == 200 && bob.status == 200)
        let firstEvent = try await alice.next()
        #expect(firstEvent?.event == "ready", "\(String(describing: firstEvent))")
        #expect(try await bob.next()?.event == "ready")
        let id = "alice-stream-session"
        _ = try await rig.chat(id, as: "alice", "Stream me")
        let created = try #require(try await alice.next())
        #expect(created.event == "session" && created.data.contains(id) && created.data.contains("Stream me"))
        _ = try await rig.request("PATCH", "/sessions/\(id)", as: "alice", body: #"{"title":"Renamed"}"#)
        var sawRename = false
        while let update = try await alice.next(timeout: .seconds(5)) {
            if update.data.contains("Renamed") {
                sawRename = true
                break
            }
        }
        #expect(sawRename)
        _ = try await rig.request("DELETE", "/sessions/\(id)", as: "alice")
        var sawDelete = false
        while let update = try await alice.next(timeout: .seconds(5)) {
            if update.event == "session_deleted" {
                sawDelete = update.data.contains(id)
                break
            }
        }
        #expect(sawDelete)
        #expect(try await bob.next(timeout: .milliseconds(300)) == nil, "bob hears nothing of alice's sessions")
        alice.close()
        bob.close()
    }

    @Test func mcpIsAProtectedResourceThatWantsABearerToken() async throws {
        let rig = try await AuthRig.start(mcpEndpoint: EchoEndpoint())
        defer { Task { try? await rig.stop() } }
        let refused = try await rig.request("POST", "/mcp", as: nil, body: "{}")
        #expect(refused.status == 401)
        #expect(
            refused.headers["www-authenticate"]
                == #"Bearer resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource""#
        )
        let metadata = try JSONValue.parse(try await rig.request("GET", "/.well-known/oauth-protected-resource", as: nil).body)
        #expect(metadata["resource"]?.stringValue == "http://127.0.0.1:1/mcp")
        #expect(metadata["authorization_servers"] == .array([.string(rig.issuer.issuer)]))
        let accepted = try await rig.request("POST", "/mcp", as: "alice", body: "{}")
        #expect(accepted.status == 200 && accepted.body == rig.key("alice"), "the endpoint is told who calls")
        let token = try await rig.issuer.token(subject: "frank", audience: AuthRig.audience)
        let jwt = try await rig.request("POST", "/mcp", as: nil, body: "{}", headers: ["Authorization": "Bearer \(token)"])
        #expect(jwt.status == 200)
        let auditor = try await rig.request("POST", "/mcp", as: "audrey", body: "{}")
        #expect(auditor.status == 403)
    }
}
