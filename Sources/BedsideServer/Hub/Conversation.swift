import BedsideCore
import BedsideProtocol
import Foundation

/// A session's conversation as the model is sent it: its user messages and final replies,
/// kept in memory as the session emits them, so that a turn does not read and decode them back
/// from the store.
///
/// It holds every entry after ``knownFrom``; what came before (events of an earlier process, or
/// entries dropped to stay within ``retainedCharacters``) is read from the store when a turn
/// needs it. The newest entries are kept while their characters stay above the largest budget a
/// turn has asked for, so a history within that budget is always served from memory.
struct Conversation {
    struct Entry {
        var seq: Int64
        var message: ChatMessage
        /// Characters of the message, what the history budget counts.
        var size: Int
    }

    /// Every entry with a seq above this one is in ``entries``; 0 when all of them are.
    private(set) var knownFrom: Int64
    private(set) var entries: [Entry] = []
    private var characters = 0
    /// Characters kept at least (when there are that many): the largest budget asked for, and
    /// never less than the default budget with room to spare.
    private var retainedCharacters = 32_000

    init(knownFrom: Int64) {
        self.knownFrom = knownFrom
    }

    /// The entry a session event adds to the conversation, if ``BedsideCore/ConversationRule``
    /// counts it.
    static func entry(seq: Int64, payload: EventPayload) -> Entry? {
        let content: String
        let streaming: Bool
        switch payload {
        case .user(let text, _): (content, streaming) = (text, false)
        case .assistant(let event): (content, streaming) = (event.content, event.streaming)
        default: return nil
        }
        guard ConversationRule.isConversation(type: payload.type, streaming: streaming, content: content) else { return nil }
        let message: ChatMessage = payload.type == ConversationRule.userType ? .user(content) : .assistant(content)
        return Entry(seq: seq, message: message, size: content.count)
    }

    /// The entry a stored event adds to the conversation, if ``BedsideCore/ConversationRule``
    /// counts it.
    static func entry(from event: StoredEvent) -> Entry? {
        guard ConversationRule.includes(event),
            let value = try? JSONDecoder().decode(JSONValue.self, from: Data(event.json.utf8)),
            let content = value["content"]?.stringValue
        else { return nil }
        let message: ChatMessage = event.type == ConversationRule.userType ? .user(content) : .assistant(content)
        return Entry(seq: event.seq, message: message, size: content.count)
    }

    /// The newest of `entries` (oldest first) whose characters fit in `characterBudget`, oldest
    /// first; stops at the first that does not fit. `exhausted` is true when every entry fit.
    static func newest(
        of entries: some BidirectionalCollection<Entry>,
        characterBudget: Int
    ) -> (messages: [ChatMessage], exhausted: Bool) {
        var kept: [ChatMessage] = []
        var used = 0
        for entry in entries.reversed() {
            guard used + entry.size <= characterBudget else { return (kept.reversed(), false) }
            used += entry.size
            kept.append(entry.message)
        }
        return (kept.reversed(), true)
    }

    mutating func append(_ entry: Entry) {
        entries.append(entry)
        characters += entry.size
        trim()
    }

    /// The history before `seq` within `characterBudget`, or nil when it needs entries that are
    /// only in the store (up to ``knownFrom``).
    mutating func history(before seq: Int64, characterBudget: Int) -> [ChatMessage]? {
        retainedCharacters = max(retainedCharacters, characterBudget)
        let end = entries.firstIndex { $0.seq >= seq } ?? entries.endIndex
        let (messages, exhausted) = Self.newest(of: entries[..<end], characterBudget: characterBudget)
        return exhausted && knownFrom > 0 ? nil : messages
    }

    /// Adds the stored entries up to `through`, read because ``knownFrom`` was `through`; false
    /// when entries were dropped meanwhile (read again).
    mutating func prepend(_ stored: [Entry], through: Int64) -> Bool {
        guard knownFrom == through else { return false }
        let older = stored.filter { $0.seq <= through }
        entries.insert(contentsOf: older, at: 0)
        characters += older.reduce(0) { $0 + $1.size }
        knownFrom = 0
        return true
    }

    /// Drops the oldest entries while the rest still hold more than ``retainedCharacters``.
    private mutating func trim() {
        var drop = 0
        var remaining = characters
        while drop < entries.count, remaining - entries[drop].size > retainedCharacters {
            remaining -= entries[drop].size
            drop += 1
        }
        guard drop > 0 else { return }
        knownFrom = entries[drop - 1].seq
        entries.removeFirst(drop)
        characters = remaining
    }
}
