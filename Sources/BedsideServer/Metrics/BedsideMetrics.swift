public import Prometheus
import Synchronization

/// Bedside's metrics, kept in one Prometheus registry and served at `GET /metrics`.
///
/// The server, the session hub and the turn runner record into it; nothing here is global, so
/// every server (and every test) has its own. Metrics that are a state rather than a count
/// (open connections, sessions) are read when scraped and cost the hot path nothing.
///
/// ```swift
/// let metrics = BedsideMetrics()
/// let server = buildApplication(configuration: .init(), dependencies: .init(store: store, runner: runner, logger: logger, metrics: metrics))
/// // GET /metrics → bedside_events_total{type="assistant"} 42 …
/// ```
public final class BedsideMetrics: Sendable {
    /// The registry `/metrics` serves; other metrics (e.g. of libraries) may be added to it.
    public let registry: PrometheusCollectorRegistry

    private let openConnections: Gauge
    private let sessions: Gauge
    private let eventCounters: [String: Counter]
    private let deliveryLag: DurationHistogram
    private let outboxOverflows: Counter
    private let droppedSpans: Counter
    private let exportFailures: Counter
    private let tracingEnabled: Gauge
    private let limitRefusals: [LimitName: Counter]
    private let storeWriteFailures: Counter
    private let storeUnwritten: Gauge

    /// Delivery lag buckets: from well under a millisecond to seconds.
    static let lagBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]
    /// `gen_ai.client.operation.duration` buckets, as the GenAI conventions advise.
    static let operationBuckets: [Duration] = [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ].map { Duration.seconds($0) }
    /// `gen_ai.client.token.usage` buckets, as the GenAI conventions advise.
    static let tokenBuckets: [Double] = [
        1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
    ]
    /// Turn and tool durations.
    static let stepBuckets: [Duration] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
    ].map { Duration.seconds($0) }
    /// Every event type of the protocol, counted without a lookup in the registry.
    static let eventTypes = [
        "connection", "user", "queued", "turn", "assistant", "openai_call", "openai_response", "tool_call", "tool_result",
        "error",
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        openConnections = registry.makeGauge(
            descriptor: Self.named("bedside_websocket_connections", "Open WebSocket connections.")
        )
        sessions = registry.makeGauge(descriptor: Self.named("bedside_sessions", "Sessions held in memory (connected or running a turn)."))
        var counters: [String: Counter] = [:]
        for type in Self.eventTypes {
            counters[type] = registry.makeCounter(
                descriptor: Self.named("bedside_events_total", "Session events emitted, by type."),
                labels: [("type", type)]
            )
        }
        eventCounters = counters
        deliveryLag = registry.makeDurationHistogram(
            descriptor: Self.named(
                "bedside_event_delivery_lag_seconds",
                "Time from an event's emission to its being written to a WebSocket."
            ),
            buckets: Self.lagBuckets
        )
        outboxOverflows = registry.makeCounter(
            descriptor: Self.named("bedside_outbox_overflows_total", "Connections closed because their outbound queue overflowed.")
        )
        droppedSpans = registry.makeCounter(
            descriptor: Self.named("bedside_trace_spans_dropped_total", "Finished spans dropped because the export queue was full.")
        )
        exportFailures = registry.makeCounter(
            descriptor: Self.named(
                "bedside_trace_export_failures_total",
                "Span batches the collector did not accept (down, slow or refusing)."
            )
        )
        tracingEnabled = registry.makeGauge(descriptor: Self.named("bedside_tracing_enabled", "1 when spans are exported over OTLP."))
        var refusals: [LimitName: Counter] = [:]
        for limit in LimitName.allCases {
            refusals[limit] = registry.makeCounter(
                descriptor: Self.named(
                    "bedside_limit_refusals_total",
                    "Requests, frames, connections and tool calls a limit refused, delayed or ended, by limit."
                ),
                labels: [("limit", limit.rawValue)]
            )
        }
        limitRefusals = refusals
        storeWriteFailures = registry.makeCounter(
            descriptor: Self.named("bedside_store_write_failures_total", "Event store transactions that failed (each is retried).")
        )
        storeUnwritten = registry.makeGauge(
            descriptor: Self.named(
                "bedside_store_unwritten_events",
                "Events waiting because the store could not write them (none is delivered until written)."
            )
        )
    }

    /// A metric's full name and help text (no unit appended: the names already end in it).
    private static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    // MARK: Hub and connections

    /// Counts an emitted session event.
    func eventEmitted(type: String) {
        if let counter = eventCounters[type] {
            counter.increment()
        } else {
            registry.makeCounter(
                descriptor: Self.named("bedside_events_total", "Session events emitted, by type."),
                labels: [("type", type)]
            )
            .increment()
        }
    }

    /// Records the time from an event's emission until it was written to a socket.
    func eventDelivered(after lag: Duration) { deliveryLag.record(lag) }

    func outboxOverflowed(connections: Int) { outboxOverflows.increment(by: Int64(connections)) }

    /// Sets the gauges that are read at scrape time.
    func updateGauges(openConnections: Int, sessions: Int, unwrittenEvents: Int = 0) {
        self.openConnections.set(to: Double(openConnections))
        self.sessions.set(to: Double(sessions))
        storeUnwritten.set(to: Double(unwrittenEvents))
    }

    /// Counts a failed event-store transaction.
    func storeWriteFailed() { storeWriteFailures.increment() }

    /// Counts one time `limit` refused, delayed (`concurrent_turns`) or ended something.
    public func limitReached(_ limit: LimitName, count: Int = 1) {
        limitRefusals[limit]?.increment(by: Int64(count))
    }

    // MARK: Turns and the agent

    /// Counts a finished turn and records its duration, by status.
    public func turnEnded(status: String, duration: Duration) {
        registry.makeCounter(descriptor: Self.named("bedside_turns_total", "Turns ended, by status."), labels: [("status", status)])
            .increment()
        registry.makeDurationHistogram(
            descriptor: Self.named("bedside_turn_duration_seconds", "Turn durations, by status."),
            labels: [("status", status)],
            buckets: Self.stepBuckets
        ).record(duration)
    }

    /// Records a model request that answered: `gen_ai.client.operation.duration` and
    /// `gen_ai.client.token.usage`. (A failed request shows in its span and the turn's status.)
    public func modelCall(
        provider: String,
        model: String,
        duration: Duration,
        inputTokens: Int64,
        outputTokens: Int64
    ) {
        let labels = [
            ("gen_ai_operation_name", "chat"), ("gen_ai_provider_name", provider), ("gen_ai_request_model", model),
        ]
        registry.makeDurationHistogram(
            descriptor: Self.named(
                "gen_ai_client_operation_duration_seconds",
                "GenAI operation duration (gen_ai.client.operation.duration)."
            ),
            labels: labels,
            buckets: Self.operationBuckets
        ).record(duration)
        for (type, tokens) in [("input", inputTokens), ("output", outputTokens)] {
            registry.makeValueHistogram(
                descriptor: Self.named("gen_ai_client_token_usage", "Tokens used per GenAI operation (gen_ai.client.token.usage)."),
                labels: labels + [("gen_ai_token_type", type)],
                buckets: Self.tokenBuckets
            ).record(Double(tokens))
        }
    }

    /// The `tool` label of calls that named no offered tool.
    public static let otherTool = "other"

    /// Records a tool call's duration, by tool and whether it failed.
    ///
    /// The `tool` label is the tool's name only when `offered` (the call named one of the tools
    /// the turn offered: built-in or MCP); any other name a model makes up is labelled
    /// ``otherTool``, so the number of series stays that of the tools configured.
    public func toolCall(name: String, offered: Bool, duration: Duration, isError: Bool) {
        registry.makeDurationHistogram(
            descriptor: Self.named("bedside_tool_call_duration_seconds", "Tool call durations, by tool."),
            labels: [("tool", offered ? name : Self.otherTool), ("error", isError ? "true" : "false")],
            buckets: Self.stepBuckets
        ).record(duration)
    }

    // MARK: HTTP

    /// Counts an HTTP request by method, matched route and status, and records its duration.
    func httpRequest(method: String, route: String, status: Int, duration: Duration) {
        let labels = [("method", method), ("route", route), ("status", String(status))]
        registry.makeCounter(descriptor: Self.named("bedside_http_requests_total", "HTTP requests, by route and status."), labels: labels)
            .increment()
        registry.makeDurationHistogram(
            descriptor: Self.named("bedside_http_request_duration_seconds", "HTTP request durations, by route and status."),
            labels: labels,
            buckets: Self.stepBuckets
        ).record(duration)
    }

    // MARK: Trace export

    /// Counts spans the exporter dropped.
    public func spansDropped(_ count: Int) { droppedSpans.increment(by: Int64(count)) }

    /// Counts a span batch the collector did not take.
    public func exportFailed() { exportFailures.increment() }

    /// Says whether spans are exported.
    public func setTracingEnabled(_ enabled: Bool) { tracingEnabled.set(to: enabled ? 1.0 : 0.0) }

    /// The registry in Prometheus text format.
    func exposition() -> [UInt8] {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return bytes
    }
}
