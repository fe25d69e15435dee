public import Tracing

/// How the driver traces a turn: the tracer its spans go to and whether they carry content.
///
/// Spans follow the OpenTelemetry GenAI conventions: `invoke_agent bedside` for the turn, a
/// child `chat {model}` for every model request and a child `execute_tool {name}` for every
/// tool call. Ids, sizes, timings and token counts are always recorded; prompts, completions,
/// tool arguments and results only when ``captureContent`` is on, because they hold patient
/// data.
///
/// ```swift
/// let driver = AgentDriver(configuration: configuration, model: model, tools: tools,
///                          tracing: AgentTracing(tracer: tracer, captureContent: false))
/// ```
public struct AgentTracing: Sendable {
    /// Where spans go. Default: the process's bootstrapped tracer (a no-op one when tracing is off).
    public var tracer: any Tracer
    /// Whether spans record prompts, completions, tool arguments and results. Default: false.
    public var captureContent: Bool
    /// The agent's name, in the root span's name and `gen_ai.agent.name`. Default: `bedside`.
    public var agentName: String

    public init(tracer: (any Tracer)? = nil, captureContent: Bool = false, agentName: String = "bedside") {
        self.tracer = tracer ?? InstrumentationSystem.tracer
        self.captureContent = captureContent
        self.agentName = agentName
    }
}

/// The span an event belongs to, with the instants the event shares with it.
///
/// The driver reads its clock once per step and gives the same reading to the span and to the
/// event, so an event's timestamp is its span's start and its duration is the span's duration.
public struct EventSpan: Sendable, Hashable {
    /// W3C trace id: 32 lowercase hex digits.
    public var traceID: String
    /// W3C span id: 16 lowercase hex digits.
    public var spanID: String
    /// When the span started, in nanoseconds since 1970-01-01T00:00:00Z.
    public var startNanoseconds: UInt64
    /// When it ended, on the events that end it; nil while it runs.
    public var endNanoseconds: UInt64?

    public init(traceID: String, spanID: String, startNanoseconds: UInt64, endNanoseconds: UInt64? = nil) {
        self.traceID = traceID
        self.spanID = spanID
        self.startNanoseconds = startNanoseconds
        self.endNanoseconds = endNanoseconds
    }

    /// The ids of `context`'s span as `tracer` propagates them, or nil when it propagates none
    /// (the no-op tracer of a process with tracing off).
    static func ids(of context: InstrumentationContext, tracer: any Tracer) -> (traceID: String, spanID: String)? {
        var carrier: [String: String] = [:]
        tracer.inject(context, into: &carrier, using: DictionaryInjector())
        if let traceparent = carrier["traceparent"] {
            // 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>
            let parts = traceparent.split(separator: "-")
            guard parts.count == 4, parts[1].count == 32, parts[2].count == 16 else { return nil }
            return (String(parts[1]), String(parts[2]))
        }
        // Tracers that propagate in their own keys (e.g. the in-memory tracer of tests).
        if let trace = carrier.first(where: { $0.key.hasSuffix("trace-id") })?.value,
            let span = carrier.first(where: { $0.key.hasSuffix("span-id") })?.value
        {
            return (trace, span)
        }
        return nil
    }
}

private struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}
