import BedsideServer
import BedsideTestSupport
import Logging
import ServiceLifecycle
import Testing
import Tracing

@testable import bedside

/// The exporter the executable builds reports what it loses: spans dropped from a full queue
/// and batches the collector did not take are counted in `/metrics`.
@Suite struct ExportDiagnosticsTests {
    @Test func droppedSpansAndFailedExportsAreCounted() async throws {
        let closed = try await OTLPReceiver()
        let url = "\(closed.endpoint)/v1/traces"
        await closed.stop()
        var settings = try TracingSettings.resolve(
            environment: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url],
            captureContentFlag: false
        )
        settings.configuration?.traces.batchSpanProcessor.maxQueueSize = 4
        settings.configuration?.traces.batchSpanProcessor.maxExportBatchSize = 4
        settings.configuration?.traces.batchSpanProcessor.scheduleDelay = .milliseconds(50)
        settings.configuration?.traces.otlpExporter.timeout = .seconds(1)
        let metrics = BedsideMetrics()
        let exporter = try #require(try settings.makeExporter(metrics: metrics))
        let group = ServiceGroup(services: [exporter.service], logger: Logger(label: "export-test"))
        let task = Task { try await group.run() }
        for index in 0..<50 { exporter.tracer.startSpan("span \(index)").end() }

        var text = ""
        let deadline = ContinuousClock.now + .seconds(20)
        repeat {
            try await Task.sleep(for: .milliseconds(50))
            text = metrics.registry.emitToString()
        } while !(Self.counted(text, "bedside_trace_spans_dropped_total") && Self.counted(text, "bedside_trace_export_failures_total"))
            && ContinuousClock.now < deadline
        let parsed = try PrometheusText(text)
        #expect((parsed.value("bedside_trace_spans_dropped_total") ?? 0) >= 40, "\(text)")
        #expect((parsed.value("bedside_trace_export_failures_total") ?? 0) >= 1, "\(text)")
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    static func counted(_ text: String, _ name: String) -> Bool {
        ((try? PrometheusText(text))?.value(name) ?? 0) > 0
    }
}
