import BedsideAgent
import Synchronization

/// A sink that keeps every event a driver emits, and when each arrived.
final class EventLog: Sendable {
    private let events = Mutex<[(event: AgentEvent, at: ContinuousClock.Instant)]>([])

    /// The sink to hand to the driver.
    var emit: @Sendable (AgentEvent) -> Void {
        { [self] event in events.withLock { $0.append((event, .now)) } }
    }

    /// The events so far, in order.
    var all: [AgentEvent] { events.withLock { $0.map(\.event) } }

    /// The events so far, each as a short label, in order.
    var labels: [String] { all.map(\.label) }

    /// When the turn-ended event arrived, if it did.
    var turnEndedAt: ContinuousClock.Instant? {
        events.withLock { $0.first { if case .turnEnded = $0.event { true } else { false } }?.at }
    }
}

extension AgentEvent {
    /// The event's kind and its identifying detail, for asserting order.
    var label: String {
        switch self {
        case .modelCallStarted: "model call started"
        case .modelCallEnded(let report): "model call ended \(report.finishReason?.rawValue ?? "none")"
        case .textDelta(let text, _): "text delta \(text)"
        case .finalText(let text, _, let cancelled): cancelled ? "final text (cancelled) \(text)" : "final text \(text)"
        case .toolCallStarted(let id, _, _, _): "tool call started \(id)"
        case .toolCallEnded(let report): "tool call ended \(report.callID)\(report.output.isError ? " (error)" : "")"
        case .turnEnded(let end): "turn ended \(end.outcome.label)"
        }
    }
}

extension AgentMachine.Outcome {
    var label: String {
        switch self {
        case .completed: "completed"
        case .cancelled(let reason): "cancelled \(reason)"
        case .failed: "failed"
        }
    }
}
