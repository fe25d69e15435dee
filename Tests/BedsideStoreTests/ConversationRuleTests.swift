import BedsideCore
import BedsideStore
import Foundation
import Testing

/// "Which events are conversation" is one rule: every store reads the conversation that
/// `ConversationRule` says, whether it filters in Swift or in SQL.
@Suite struct ConversationRuleTests {
    let session = SessionID("session-rule")!

    /// Events as the wire format writes them (compact, members in order), each saying whether it
    /// is conversation.
    var cases: [(StoredEvent, isConversation: Bool)] {
        let rows: [(String, String, Bool)] = [
            ("user", #"{"type":"user","seq":1,"content":"What are Maria's conditions?","client_message_id":"c-1"}"#, true),
            ("turn", #"{"type":"turn","seq":2,"status":"started"}"#, false),
            ("assistant", #"{"type":"assistant","seq":3,"content":"Mar","streaming":true,"message_id":"m"}"#, false),
            ("assistant", #"{"type":"assistant","seq":4,"content":"","streaming":true,"message_id":"m"}"#, false),
            // Text that looks like the members, escaped as every string value is.
            (
                "assistant",
                #"{"type":"assistant","seq":5,"content":"say \"streaming\":false, \"content\":\"\"","streaming":true,"message_id":"m"}"#,
                false
            ),
            ("tool_result", #"{"type":"tool_result","seq":6,"result":{"content":"","streaming":false}}"#, false),
            ("assistant", #"{"type":"assistant","seq":7,"content":"","streaming":false,"message_id":"m"}"#, false),
            ("assistant", #"{"type":"assistant","seq":8,"content":"Hypertension.","streaming":false,"message_id":"m"}"#, true),
            (
                "assistant",
                #"{"type":"assistant","seq":9,"content":"Cut \"streaming\":true","streaming":false,"message_id":"m","cancelled":true}"#,
                true
            ),
            ("error", #"{"type":"error","seq":10,"error":"failed","code":"llm_error"}"#, false),
            ("user", #"{"type":"user","seq":11,"content":"\"content\":\"\""}"#, true),
        ]
        return rows.enumerated().map { index, row in
            (StoredEvent(sessionID: session, seq: Int64(index + 1), type: row.0, turnID: "t1", json: row.1), row.2)
        }
    }

    @Test func theRuleSaysWhichStoredEventsAreConversation() {
        for (event, isConversation) in cases {
            #expect(ConversationRule.includes(event) == isConversation, "seq \(event.seq)")
        }
        #expect(ConversationRule.isConversation(type: "user", streaming: false, content: "hi"))
        #expect(ConversationRule.isConversation(type: "assistant", streaming: false, content: "Yes."))
        #expect(!ConversationRule.isConversation(type: "assistant", streaming: false, content: ""))
        #expect(!ConversationRule.isConversation(type: "assistant", streaming: true, content: "Ye"))
        #expect(!ConversationRule.isConversation(type: "tool_result", streaming: false, content: "x"))
    }

    @Test func theSQLIsMadeFromTheSameFacts() {
        #expect(
            ConversationRule.sqlPredicate(type: "type", json: "json")
                == #"(type = 'user' OR (type = 'assistant' AND instr(json, '"streaming":false') > 0 AND instr(json, '"content":""') = 0))"#
        )
    }

    @Test(arguments: EventStoreTests.Kind.allCases)
    func everyStoreReadsTheConversationTheRuleSays(_ kind: EventStoreTests.Kind) async throws {
        let (store, path) = try EventStoreTests.makeStore(kind)
        defer { EventStoreTests.cleanup(path) }
        let events = cases.map(\.0)
        try await store.append(events)
        let expected = cases.filter(\.isConversation).map(\.0)
        #expect(try await store.conversation(in: session, through: Int64(events.count)) == expected)
        #expect(try await store.conversation(in: session, through: 8).map(\.seq) == [1, 8])
        // The protocol's default, which a store that does not filter itself inherits.
        #expect(try await UnfilteredStore(base: store).conversation(in: session, through: Int64(events.count)) == expected)
    }
}

/// A store that implements only what `EventStore` requires, so `conversation` is the default.
private struct UnfilteredStore: EventStore {
    let base: any EventStore

    func append(_ events: [StoredEvent]) async throws { try await base.append(events) }

    func events(in session: SessionID, after: Int64, through: Int64?, limit: Int?) async throws -> [StoredEvent] {
        try await base.events(in: session, after: after, through: through, limit: limit)
    }

    func userEvent(in session: SessionID, clientMessageID: String) async throws -> StoredEvent? {
        try await base.userEvent(in: session, clientMessageID: clientMessageID)
    }

    func snapshot(of session: SessionID) async throws -> SessionSnapshot { try await base.snapshot(of: session) }

    func unfinishedTurns() async throws -> [UnfinishedTurn] { try await base.unfinishedTurns() }

    func ping() async throws { try await base.ping() }
}
