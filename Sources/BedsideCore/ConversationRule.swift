/// Which of a session's events are its conversation: the `user` messages and the final
/// `assistant` replies that have text. That is what a turn sends the model as history.
///
/// The one place this is decided. The session hub asks it of events as they are emitted
/// (``isConversation(type:streaming:content:)``), every ``EventStore`` of stored events
/// (``includes(_:)``), and the SQLite store reads with a `WHERE` clause made here from the same
/// facts (``sqlPredicate(type:json:)``), so all of them give the same answer; a shared test
/// pins them together.
///
/// What is not conversation: streaming deltas (`"streaming":true`), a final reply with no text
/// (a model that answered nothing), tool calls and results, errors and turn events.
///
/// What it deliberately does not do: decode JSON. A stored event is judged by its `type` and
/// two members of its JSON text, which the wire format writes compactly and which cannot occur
/// inside a string value, where every quote is escaped.
public enum ConversationRule {
    /// The wire type of a user's message.
    public static let userType = "user"
    /// The wire type of a reply, streaming or final.
    public static let replyType = "assistant"
    /// The member of a final reply's JSON: `streaming` is false.
    static let finalMember = #""streaming":false"#
    /// The member of a reply's JSON whose text is empty.
    static let emptyContentMember = #""content":"""#

    /// Whether an event with these fields is conversation: every `user` event, and an
    /// `assistant` event that is not streaming and has text.
    public static func isConversation(type: String, streaming: Bool, content: String) -> Bool {
        switch type {
        case userType: true
        case replyType: !streaming && !content.isEmpty
        default: false
        }
    }

    /// Whether a stored event is conversation, read from its `type` and JSON text.
    public static func includes(_ event: StoredEvent) -> Bool {
        switch event.type {
        case userType:
            true
        case replyType:
            event.jsonContains(finalMember) && !event.jsonContains(emptyContentMember)
        default:
            false
        }
    }

    /// The same rule as an SQL condition on an event table's `type` and `json` columns.
    ///
    /// ```swift
    /// ConversationRule.sqlPredicate(type: "type", json: "json")
    /// // (type = 'user' OR (type = 'assistant' AND instr(json, '"streaming":false') > 0 AND instr(json, '"content":""') = 0))
    /// ```
    public static func sqlPredicate(type: String, json: String) -> String {
        "(\(type) = \(literal(userType)) OR (\(type) = \(literal(replyType))"
            + " AND instr(\(json), \(literal(finalMember))) > 0"
            + " AND instr(\(json), \(literal(emptyContentMember))) = 0))"
    }

    /// A string as an SQL literal.
    private static func literal(_ text: String) -> String {
        var quoted = "'"
        for character in text {
            quoted.append(character)
            if character == "'" { quoted.append("'") }
        }
        return quoted + "'"
    }
}

extension StoredEvent {
    /// Whether appending this event changes its session's summary (title, last activity,
    /// turns): a `user` event or a turn's start or end. Streaming deltas and tool events do not,
    /// so a batch of them writes no summary.
    public var changesSessionSummary: Bool {
        type == ConversationRule.userType || turnStatus != nil
    }

    /// Whether the JSON text contains `member` byte for byte.
    func jsonContains(_ member: String) -> Bool {
        var json = json
        var member = member
        return json.withUTF8 { text in
            member.withUTF8 { needle in
                guard !needle.isEmpty, text.count >= needle.count else { return needle.isEmpty }
                let last = text.count - needle.count
                var index = 0
                while index <= last {
                    if text[index] == needle[0] {
                        var matched = 1
                        while matched < needle.count, text[index + matched] == needle[matched] { matched += 1 }
                        if matched == needle.count { return true }
                    }
                    index += 1
                }
                return false
            }
        }
    }
}
