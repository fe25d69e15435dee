import BedsideCore
import BedsideProtocol
import BedsideStore
import Foundation
import Testing

@testable import BedsideServer

/// The four places that ask "is this event conversation" give one answer: the session as it
/// emits an event, the session reading a stored one back, the in-memory store and SQLite.
@Suite struct ConversationAgreementTests {
    let session = SessionID("session-agreement")!

    let payloads: [EventPayload] = [
        .user(content: "What are Maria Garcia's active conditions?", clientMessageID: "c-1"),
        .turn(TurnEvent(status: .started)),
        .openaiCall(model: "gpt-test", provider: "test"),
        .assistant(AssistantEvent(content: "Maria ", streaming: true, messageID: "m")),
        .assistant(AssistantEvent(content: "", streaming: true, messageID: "m")),
        .assistant(AssistantEvent(content: #"quotes "streaming":false and "content":"""#, streaming: true, messageID: "m")),
        .toolCall(toolCallID: "call-1", toolName: "search", arguments: .object(["content": .string(""), "streaming": .bool(false)])),
        .toolResult(
            ToolResultEvent(
                toolCallID: "call-1",
                toolName: "search",
                result: #"{"content":"","streaming":false}"#,
                durationMilliseconds: 3,
                isError: false
            )
        ),
        .assistant(AssistantEvent(content: "", streaming: false, messageID: "m")),
        .assistant(AssistantEvent(content: "Hypertension and type 2 diabetes.", streaming: false, messageID: "m")),
        .assistant(AssistantEvent(content: "Cut short", streaming: false, messageID: "m2", cancelled: true)),
        .error(code: .llmError, message: "The model failed."),
        .turn(TurnEvent(status: .completed, durationMilliseconds: 12)),
        .user(content: #""content":"""#, clientMessageID: nil),
    ]

    @Test func theSessionAndEveryStoreAgree() async throws {
        let directory = NSTemporaryDirectory() + "bedside-agreement-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sqlite = try SQLiteEventStore(path: directory + "/events.sqlite")
        let memory = InMemoryEventStore()

        var emitted: [Int64] = []
        let stored: [StoredEvent] = payloads.enumerated().map { index, payload in
            let seq = Int64(index + 1)
            if Conversation.entry(seq: seq, payload: payload) != nil { emitted.append(seq) }
            let event = ServerEvent(sessionID: session, seq: seq, timestamp: .now(), turnID: "t1", payload: payload)
            return event.stored(json: event.json)
        }
        try await sqlite.append(stored)
        try await memory.append(stored)

        #expect(emitted == [1, 10, 11, 14])
        #expect(stored.filter(ConversationRule.includes).map(\.seq) == emitted)
        #expect(stored.filter { Conversation.entry(from: $0) != nil }.map(\.seq) == emitted)
        #expect(try await sqlite.conversation(in: session, through: 14).map(\.seq) == emitted)
        #expect(try await memory.conversation(in: session, through: 14).map(\.seq) == emitted)
        // What the model is sent, read back from the store, is what the session kept in memory.
        let fromStore = try await sqlite.conversation(in: session, through: 14).compactMap(Conversation.entry(from:)).map(\.message)
        let inMemory = payloads.enumerated().compactMap { Conversation.entry(seq: Int64($0.offset + 1), payload: $0.element)?.message }
        #expect(fromStore == inMemory)
    }
}
