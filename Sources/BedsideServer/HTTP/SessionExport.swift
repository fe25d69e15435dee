import BedsideCore
import BedsideProtocol
import Foundation

/// A whole conversation for `GET /sessions/{id}/export`: as JSON (every stored event as it was
/// sent, the access audit and the trace ids) or as a Markdown transcript a person reads, with
/// each tool call and the records it read.
struct SessionExport {
    let summary: SessionSummary
    let events: [StoredEvent]
    let records: [AccessRecord]

    /// `{"session":{…},"events":[…],"audit":[…],"trace_ids":[…]}`.
    func json() -> String {
        var json = JSONWriter(capacity: events.reduce(256) { $0 + $1.json.utf8.count + 1 })
        json.beginObject()
        json.key("session")
        json.summary(summary)
        json.key("events")
        json.beginArray()
        for event in events { json.raw(event.json) }
        json.endArray()
        json.key("audit")
        json.auditRecords(records, principals: nil)
        json.key("trace_ids")
        json.beginArray()
        for id in traceIDs() { json.string(id) }
        json.endArray()
        json.endObject()
        return json.text
    }

    /// The distinct trace ids of the events, in order of first appearance.
    func traceIDs() -> [String] {
        var seen = Set<String>()
        var ids: [String] = []
        for event in events {
            guard let id = Self.decode(event.json)?["trace_id"]?.stringValue, seen.insert(id).inserted else { continue }
            ids.append(id)
        }
        return ids
    }

    /// A transcript: each turn with its question, its tool calls (arguments, outcome, the
    /// records they read) and its answer.
    func markdown() -> String {
        var text = "# \(Self.inline(summary.title ?? "Conversation \(summary.id.rawValue)"))\n\n"
        text += "Session `\(summary.id.rawValue)` · created \(Timestamp(microseconds: summary.createdMicros).iso8601)"
        text += " · \(summary.turnCount) turn\(summary.turnCount == 1 ? "" : "s")\n"
        let readByCall = Dictionary(grouping: records.filter { $0.toolCallID != nil }, by: { $0.toolCallID ?? "" })
        var turnNumber = 0
        for event in events {
            guard let object = Self.decode(event.json) else { continue }
            let string = { (key: String) in object[key]?.stringValue }
            switch event.type {
            case "user":
                turnNumber += 1
                text += "\n## Turn \(turnNumber)\n\n**User** (\(string("timestamp") ?? "")):\n\n"
                text += Self.quoted(string("content") ?? "") + "\n"
            case "tool_call":
                let arguments = object["arguments"].map { value -> String in
                    var writer = JSONWriter()
                    writer.value(value)
                    return writer.text
                }
                text += "\n- Tool call `\(Self.inline(string("tool_name") ?? "?"))`"
                if let server = string("server") { text += " via `\(Self.inline(server))`" }
                text += " with `\(Self.inline(arguments ?? "{}"))`\n"
            case "tool_result":
                let failed = object["is_error"] == .bool(true)
                let duration = object["duration_ms"].map { Self.number($0) } ?? "?"
                text += "  - `\(Self.inline(string("tool_name") ?? "?"))` \(failed ? "failed" : "answered") in \(duration) ms"
                let read = readByCall[string("tool_call_id") ?? ""]?.flatMap(\.resources) ?? []
                text += read.isEmpty ? "\n" : "; records read: \(read.map { "`\($0)`" }.joined(separator: ", "))\n"
            case "assistant" where ConversationRule.includes(event):
                text += "\n**Assistant**:\n\n\(string("content") ?? "")\n"
                if object["cancelled"] == .bool(true) { text += "\n_(cut short: the turn was cancelled)_\n" }
            case "error":
                text += "\n> Error `\(Self.inline(string("code") ?? ""))`: \(Self.inline(string("error") ?? ""))\n"
            case "turn" where string("status") != "started":
                var line = "\n_Turn \(string("status") ?? "ended")"
                if let duration = object["duration_ms"] { line += " in \(Self.number(duration)) ms" }
                if let tokens = object["total_tokens"]?.integerValue { line += ", \(tokens) tokens" }
                if let trace = string("trace_id") { line += ", trace `\(trace)`" }
                text += line + "_\n"
            default:
                continue
            }
        }
        return text
    }

    private static func decode(_ json: String) -> [String: JSONValue]? {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))?.objectValue
    }

    private static func number(_ value: JSONValue) -> String {
        switch value {
        case .integer(let integer): String(integer)
        case .number(let number): String(format: "%.1f", number)
        default: "?"
        }
    }

    /// Text for one line of Markdown: no line breaks, no backticks that would end a code span.
    private static func inline(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "`", with: "'")
    }

    /// A user's message as a block quote, so that their text cannot pass for Bedside's headings.
    private static func quoted(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "> \($0)" }.joined(separator: "\n")
    }
}
