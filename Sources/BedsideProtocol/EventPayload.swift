public import BedsideCore

/// The type-specific part of a ``ServerEvent``: one case per wire `type`.
public enum EventPayload: Sendable, Equatable {
    /// First event on every connection; never part of the session's history.
    case connection(resumedFrom: Int64?, latestSeq: Int64, serverVersion: String)
    /// A user message was accepted.
    case user(content: String, clientMessageID: String?)
    /// The turn the user message started waits for one of the server's concurrent-turn slots;
    /// `position` 1 is the next to start. Its `turn` `started` follows when a slot frees.
    case queued(position: Int)
    /// A turn's boundary.
    case turn(TurnEvent)
    /// A text delta (`streaming: true`) or the final full reply (`streaming: false`).
    case assistant(AssistantEvent)
    /// An LLM request started.
    case openaiCall(model: String, provider: String)
    /// An LLM request ended.
    case openaiResponse(ModelResponseEvent)
    /// A tool call started.
    /// `server` names the MCP server the tool comes from; nil (and absent) for built-in tools.
    case toolCall(toolCallID: String, toolName: String, arguments: JSONValue, server: String? = nil)
    /// A tool call ended.
    case toolResult(ToolResultEvent)
    /// Something went wrong; `code` is machine-readable, `message` is for people.
    /// `retryAfterMilliseconds`, when set, says how long to wait before sending again
    /// (`retry_after_ms`, e.g. on `too_many_turns`).
    case error(code: ErrorCode, message: String, retryAfterMilliseconds: Int64? = nil)

    /// The wire `type`.
    public var type: String {
        switch self {
        case .connection: "connection"
        case .user: "user"
        case .queued: "queued"
        case .turn: "turn"
        case .assistant: "assistant"
        case .openaiCall: "openai_call"
        case .openaiResponse: "openai_response"
        case .toolCall: "tool_call"
        case .toolResult: "tool_result"
        case .error: "error"
        }
    }

    var estimatedSize: Int {
        switch self {
        case .user(let content, _): content.utf8.count + 64
        case .assistant(let event): event.content.utf8.count + 64
        case .toolResult(let event): event.result.utf8.count + 128
        default: 96
        }
    }

    func write(into writer: inout JSONWriter) {
        switch self {
        case .connection(let resumedFrom, let latestSeq, let serverVersion):
            writer.member("status", "connected")
            writer.member("resumed_from", resumedFrom)
            writer.member("latest_seq", latestSeq)
            writer.member("server_version", serverVersion)
        case .user(let content, let clientMessageID):
            writer.member("content", content)
            writer.member("client_message_id", clientMessageID)
        case .queued(let position):
            writer.member("position", Int64(position))
        case .turn(let event):
            event.write(into: &writer)
        case .assistant(let event):
            writer.member("content", event.content)
            writer.member("streaming", event.streaming)
            writer.member("message_id", event.messageID)
            if event.cancelled { writer.member("cancelled", true) }
        case .openaiCall(let model, let provider):
            writer.member("model", model)
            writer.member("provider", provider)
        case .openaiResponse(let event):
            event.write(into: &writer)
        case .toolCall(let toolCallID, let toolName, let arguments, let server):
            writer.member("tool_call_id", toolCallID)
            writer.member("tool_name", toolName)
            if let server { writer.member("server", server) }
            writer.member("arguments", arguments)
        case .toolResult(let event):
            writer.member("tool_call_id", event.toolCallID)
            writer.member("tool_name", event.toolName)
            if let server = event.server { writer.member("server", server) }
            writer.member("result", event.result)
            writer.member("duration_ms", event.durationMilliseconds)
            writer.member("is_error", event.isError)
        case .error(let code, let message, let retryAfterMilliseconds):
            writer.member("error", message)
            writer.member("code", code.rawValue)
            if let retryAfterMilliseconds { writer.member("retry_after_ms", retryAfterMilliseconds) }
        }
    }
}

/// A turn's boundary: `started`, or how it ended with its duration and token totals.
public struct TurnEvent: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case started, completed, cancelled, failed

        /// Whether this status ends a turn.
        public var isTerminal: Bool { self != .started }
    }

    public var status: Status
    /// Set on every end event.
    public var durationMilliseconds: Double?
    /// Why a turn failed or was cancelled (`interrupted`, `shutdown`, `cancelled_by_user`, …).
    public var reason: String?
    public var promptTokens: Int64?
    public var completionTokens: Int64?
    public var totalTokens: Int64?

    public init(
        status: Status,
        durationMilliseconds: Double? = nil,
        reason: String? = nil,
        promptTokens: Int64? = nil,
        completionTokens: Int64? = nil,
        totalTokens: Int64? = nil
    ) {
        self.status = status
        self.durationMilliseconds = durationMilliseconds
        self.reason = reason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }

    func write(into writer: inout JSONWriter) {
        writer.member("status", status.rawValue)
        if let durationMilliseconds {
            writer.key("duration_ms")
            writer.number((durationMilliseconds * 1000).rounded() / 1000)
        }
        if let reason { writer.member("reason", reason) }
        if let promptTokens { writer.member("prompt_tokens", promptTokens) }
        if let completionTokens { writer.member("completion_tokens", completionTokens) }
        if let totalTokens { writer.member("total_tokens", totalTokens) }
    }
}

/// An `assistant` frame.
public struct AssistantEvent: Sendable, Equatable {
    public var content: String
    public var streaming: Bool
    public var messageID: String
    /// Set on the final frame of a reply that was cut short by `cancel`.
    public var cancelled: Bool

    public init(content: String, streaming: Bool, messageID: String, cancelled: Bool = false) {
        self.content = content
        self.streaming = streaming
        self.messageID = messageID
        self.cancelled = cancelled
    }
}

/// An `openai_response` frame: one model request's outcome.
public struct ModelResponseEvent: Sendable, Equatable {
    public var model: String
    public var promptTokens: Int64
    public var completionTokens: Int64
    public var totalTokens: Int64
    public var durationMilliseconds: Double
    public var finishReason: String?

    public init(
        model: String,
        promptTokens: Int64,
        completionTokens: Int64,
        totalTokens: Int64,
        durationMilliseconds: Double,
        finishReason: String?
    ) {
        self.model = model
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
        self.durationMilliseconds = durationMilliseconds
        self.finishReason = finishReason
    }

    func write(into writer: inout JSONWriter) {
        writer.member("model", model)
        writer.member("prompt_tokens", promptTokens)
        writer.member("completion_tokens", completionTokens)
        writer.member("total_tokens", totalTokens)
        writer.key("duration_ms")
        writer.number((durationMilliseconds * 1000).rounded() / 1000)
        writer.member("finish_reason", finishReason)
    }
}

/// A `tool_result` frame.
public struct ToolResultEvent: Sendable, Equatable {
    public var toolCallID: String
    public var toolName: String
    public var result: String
    public var durationMilliseconds: Double
    public var isError: Bool
    /// The MCP server the tool comes from; nil for built-in tools.
    public var server: String?

    public init(
        toolCallID: String,
        toolName: String,
        result: String,
        durationMilliseconds: Double,
        isError: Bool,
        server: String? = nil
    ) {
        self.toolCallID = toolCallID
        self.toolName = toolName
        self.result = result
        self.durationMilliseconds = durationMilliseconds
        self.isError = isError
        self.server = server
    }
}

extension JSONWriter {
    fileprivate mutating func member(_ key: String, _ value: Double) {
        self.key(key)
        number((value * 1000).rounded() / 1000)
    }
}
