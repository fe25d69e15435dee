import BedsideServer
import Logging
import Synchronization

/// Where the span exporter's own diagnostics go: dropped spans and failed exports are counted
/// in the metrics, and its warnings reach stderr at most once a minute each, so a collector
/// that is down is visible without flooding the log.
struct ExportDiagnostics: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    private var base: StreamLogHandler
    private let metrics: BedsideMetrics
    private let lastShown: RateLimit

    init(label: String, metrics: BedsideMetrics) {
        base = StreamLogHandler.standardError(label: label)
        self.metrics = metrics
        lastShown = RateLimit()
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if case .string(let count)? = event.metadata?["dropped_count"], let dropped = Int(count) {
            metrics.spansDropped(dropped)
        }
        if event.message.description.hasPrefix("Failed to export") { metrics.exportFailed() }
        guard event.level >= .warning, lastShown.allows(event.message.description) else { return }
        base.log(event: event)
    }

    /// Lets each distinct message through once per interval.
    final class RateLimit: Sendable {
        private let shown = Mutex<[String: ContinuousClock.Instant]>([:])
        private let interval = Duration.seconds(60)

        func allows(_ message: String) -> Bool {
            let now = ContinuousClock.now
            return shown.withLock { shown in
                if let last = shown[message], now - last < interval { return false }
                shown[message] = now
                return true
            }
        }
    }
}
