import BedsideCore
import Synchronization
import Tracing

/// The spans of one turn: the `invoke_agent` root and its open `chat` and `execute_tool` children.
///
/// Every instant comes from the turn's clock, placed on the wall clock by one reading taken when
/// the turn starts, so a span starts and ends exactly when the driver says its step did: the
/// event of the step and the span carry the same start and the same duration.
final class TurnTrace: Sendable {
    let tracing: AgentTracing
    /// The wall-clock time, in nanoseconds since the epoch, at which the turn's clock read zero.
    let originNanoseconds: UInt64
    let root: any Span
    let rootStart: UInt64
    private let open = Mutex<[String: (span: any Span, start: UInt64)]>([:])
    /// What the running turn noted along the way: the streamed text of the request in flight
    /// (only with content capture), its span as events see it, and why tools failed.
    private let notes = Mutex<Notes>(Notes())

    private struct Notes {
        var text = ""
        var chat: EventSpan?
        var toolErrors: [String: String] = [:]
    }

    /// The key of the model request in flight: at most one runs at a time.
    private static let chatKey = "\u{0}chat"

    init(tracing: AgentTracing, clock: ElapsedClock, model: any LanguageModel, context: ToolCallContext?) {
        self.tracing = tracing
        // The one wall-clock reading: every span instant of the turn is this plus turn-clock time.
        let wall = DefaultTracerClock.now.nanosecondsSinceEpoch
        let elapsed = clock.elapsed()
        let origin = wall &- elapsed.nanoseconds
        originNanoseconds = origin
        rootStart = origin &+ elapsed.nanoseconds
        let name = tracing.agentName
        root = tracing.tracer.startSpan(
            "invoke_agent \(name)",
            context: InstrumentationContext.current ?? .topLevel,
            ofKind: .internal,
            at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: origin &+ elapsed.nanoseconds)
        )
        root.updateAttributes { attributes in
            attributes["gen_ai.operation.name"] = "invoke_agent"
            attributes["gen_ai.agent.name"] = name
            attributes["gen_ai.provider.name"] = model.providerName
            attributes["gen_ai.request.model"] = model.modelName
            if let context {
                attributes["gen_ai.conversation.id"] = context.sessionID.rawValue
                if let turnID = context.turnID { attributes["bedside.turn.id"] = turnID }
            }
        }
    }

    func instant(_ elapsed: Duration) -> UInt64 { originNanoseconds &+ elapsed.nanoseconds }

    /// The root span as an event sees it.
    var rootSpan: EventSpan? { stamp(root, start: rootStart) }

    // MARK: Model requests

    /// Starts `chat {model}` at `time`; the model request runs in the returned span's context.
    func startChat(_ request: ModelRequest, model: any LanguageModel, at time: Duration) -> (any Span, EventSpan?) {
        let start = instant(time)
        let span = tracing.tracer.startSpan(
            "chat \(request.model)",
            context: root.context,
            ofKind: .client,
            at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: start)
        )
        let capture = tracing.captureContent
        span.updateAttributes { attributes in
            attributes["gen_ai.operation.name"] = "chat"
            attributes["gen_ai.provider.name"] = model.providerName
            attributes["gen_ai.request.model"] = request.model
            if let budget = request.maxOutputTokens { attributes["gen_ai.request.max_tokens"] = budget }
            if let host = Self.host(of: model.endpoint) {
                attributes["server.address"] = host.address
                if let port = host.port { attributes["server.port"] = port }
            }
            attributes["bedside.request.messages"] = request.messages.count
            attributes["bedside.request.tools"] = request.tools.count
            if capture { attributes["gen_ai.input.messages"] = GenAIContent.messages(request.messages) }
        }
        open.withLock { $0[Self.chatKey] = (span, start) }
        let stamp = stamp(span, start: start)
        notes.withLock { notes in
            notes.text = ""
            notes.chat = stamp
        }
        return (span, stamp)
    }

    /// The span of the model request in flight, for the text it streams.
    var chatSpan: EventSpan? { notes.withLock { $0.chat } }

    /// Keeps streamed text for `gen_ai.output.messages`.
    func recordText(_ text: String) { notes.withLock { $0.text += text } }

    /// Ends the request's span after its report's duration, with what the model answered.
    func endChat(_ report: AgentMachine.ModelResponseReport, toolCalls: [ToolCall]) -> EventSpan? {
        guard let entry = open.withLock({ $0.removeValue(forKey: Self.chatKey) }) else { return nil }
        let (span, start) = (entry.span, entry.start)
        let text = notes.withLock { notes in
            defer {
                notes.text = ""
                notes.chat = nil
            }
            return notes.text
        }
        let capture = tracing.captureContent
        span.updateAttributes { attributes in
            attributes["gen_ai.response.model"] = report.model
            attributes["gen_ai.usage.input_tokens"] = Int(report.usage.promptTokens)
            attributes["gen_ai.usage.output_tokens"] = Int(report.usage.completionTokens)
            if let reason = report.finishReason?.rawValue { attributes["gen_ai.response.finish_reasons"] = [reason] }
            if capture {
                attributes["gen_ai.output.messages"] = GenAIContent.output(
                    text: text,
                    toolCalls: toolCalls,
                    finishReason: report.finishReason?.rawValue
                )
            }
        }
        let end = start &+ report.duration.nanoseconds
        span.end(at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: end))
        return stamp(span, start: start, end: end)
    }

    // MARK: Tools

    /// Starts `execute_tool {name}` at `time`; the tool runs in the returned span's context.
    func startTool(id: String, name: String, arguments: String, at time: Duration) -> (any Span, EventSpan?) {
        let start = instant(time)
        let span = tracing.tracer.startSpan(
            "execute_tool \(name)",
            context: root.context,
            ofKind: .internal,
            at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: start)
        )
        let capture = tracing.captureContent
        span.updateAttributes { attributes in
            attributes["gen_ai.operation.name"] = "execute_tool"
            attributes["gen_ai.tool.name"] = name
            attributes["gen_ai.tool.call.id"] = id
            attributes["gen_ai.tool.type"] = "function"
            attributes["bedside.tool.arguments.size"] = arguments.utf8.count
            if capture { attributes["gen_ai.tool.call.arguments"] = arguments }
        }
        open.withLock { $0[id] = (span, start) }
        return (span, stamp(span, start: start))
    }

    /// Notes why a tool call failed, for its span's `error.type`.
    func noteToolError(callID: String, type: String) { notes.withLock { $0.toolErrors[callID] = type } }

    /// Ends a tool call's span after its report's duration; an error result sets the status.
    func endTool(_ report: AgentMachine.ToolResultReport) -> EventSpan? {
        guard let entry = open.withLock({ $0.removeValue(forKey: report.callID) }) else { return nil }
        let (span, start) = (entry.span, entry.start)
        let errorType = notes.withLock { $0.toolErrors.removeValue(forKey: report.callID) }
        let capture = tracing.captureContent
        span.updateAttributes { attributes in
            attributes["bedside.tool.result.size"] = report.output.content.utf8.count
            attributes["bedside.tool.result.is_error"] = report.output.isError
            if capture { attributes["gen_ai.tool.call.result"] = report.output.content }
        }
        if report.output.isError {
            span.attributes["error.type"] = errorType ?? "tool_error"
            span.setStatus(SpanStatus(code: .error, message: String(report.output.content.prefix(200))))
        }
        let end = start &+ report.duration.nanoseconds
        span.end(at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: end))
        return stamp(span, start: start, end: end)
    }

    // MARK: Turn end

    /// Ends every span still open (a request or tools cut short) and then the root.
    func endTurn(_ end: AgentMachine.TurnEnd, at time: Duration) {
        let errorType: String? =
            switch end.outcome {
            case .completed: nil
            case .cancelled: "cancelled"
            case .failed(let failure): Self.errorType(of: failure)
            }
        let now = DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: instant(time))
        let leftOpen = open.withLock { spans in
            defer { spans.removeAll() }
            return spans
        }
        for (key, entry) in leftOpen {
            let type = key == Self.chatKey ? (errorType ?? "cancelled") : "cancelled"
            entry.span.attributes["error.type"] = type
            entry.span.setStatus(SpanStatus(code: .error, message: type))
            entry.span.end(at: now)
        }
        root.updateAttributes { attributes in
            attributes["gen_ai.usage.input_tokens"] = Int(end.usage.promptTokens)
            attributes["gen_ai.usage.output_tokens"] = Int(end.usage.completionTokens)
            attributes["bedside.turn.model_requests"] = end.modelRequests
            if case .cancelled(let reason) = end.outcome { attributes["bedside.turn.cancel_reason"] = reason }
        }
        if let errorType {
            root.attributes["error.type"] = errorType
            root.setStatus(SpanStatus(code: .error, message: errorType))
        }
        root.end(at: now)
    }

    /// The `error.type` of a failed turn: the code the user sees.
    static func errorType(of failure: AgentMachine.Failure) -> String {
        switch failure {
        case .model(let error):
            if let status = error.httpStatus { return String(status) }
            return error.code == .unavailable ? "llm_unavailable" : "llm_error"
        case .toolsUnavailable: return "tool_error"
        case .tooManyModelRequests: return "too_many_model_requests"
        case .turnTimedOut: return "timeout"
        }
    }

    private func stamp(_ span: any Span, start: UInt64, end: UInt64? = nil) -> EventSpan? {
        guard let ids = EventSpan.ids(of: span.context, tracer: tracing.tracer) else { return nil }
        return EventSpan(traceID: ids.traceID, spanID: ids.spanID, startNanoseconds: start, endNanoseconds: end)
    }

    /// The host and port of a model endpoint URL, for `server.address` and `server.port`.
    static func host(of endpoint: String?) -> (address: String, port: Int?)? {
        guard let endpoint, let schemeEnd = endpoint.firstRange(of: "://") else { return nil }
        let rest = endpoint[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last.map(String.init) ?? ""
        guard !hostPort.isEmpty else { return nil }
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return nil }
            let address = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let port = Int(hostPort[close...].dropFirst(2))
            return (address, port)
        }
        let parts = hostPort.split(separator: ":", maxSplits: 1)
        return (String(parts[0]), parts.count == 2 ? Int(parts[1]) : nil)
    }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped at zero.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }
}
