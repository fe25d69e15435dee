import ArgumentParser
import BedsideServer
import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Where Bedside's spans go, read from the standard `OTEL_*` variables.
///
/// Tracing is on only when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and neither `OTEL_SDK_DISABLED=true` nor
/// `OTEL_TRACES_EXPORTER=none` turns it off. swift-otel applies every other variable
/// (`OTEL_SERVICE_NAME`, `OTEL_BSP_*`, headers, compression, sampler…) on top of the
/// configuration built here. Logs stay on stdout and metrics stay in Prometheus: only traces
/// are exported.
struct TracingSettings {
    /// The exporter's configuration; nil when tracing is off.
    var configuration: OTel.Configuration?
    /// Where spans go, for the start-up line and `/ready`: `off` or `otlp <protocol> <endpoint>`.
    var destination: String
    /// Whether spans carry prompts, completions, tool arguments and results.
    var captureContent: Bool

    /// How soon a finished span is exported when `OTEL_BSP_SCHEDULE_DELAY` is not set: a finished
    /// turn reaches the collector within about a second (swift-otel's own default is 5 s).
    static let defaultScheduleDelay = Duration.milliseconds(500)

    static func resolve(environment: [String: String], captureContentFlag: Bool) throws -> TracingSettings {
        let capture = try captureContentFlag || Self.captureContent(environment)
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        let off = TracingSettings(configuration: nil, destination: "off", captureContent: capture)
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" { return off }
        switch value("OTEL_TRACES_EXPORTER")?.lowercased() {
        case nil, "otlp": break
        case "none": return off
        case let other?:
            throw ValidationError("OTEL_TRACES_EXPORTER must be otlp or none, not '\(other)'.")
        }
        let tracesEndpoint = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        let endpoint = value("OTEL_EXPORTER_OTLP_ENDPOINT")
        guard tracesEndpoint != nil || endpoint != nil else { return off }
        for url in [tracesEndpoint, endpoint].compactMap({ $0 }) {
            let lowered = url.lowercased()
            guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
                throw ValidationError("An OTLP endpoint must be an http(s) URL, not '\(url)'.")
            }
        }
        let protocolName = value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? value("OTEL_EXPORTER_OTLP_PROTOCOL") ?? "http/protobuf"
        var configuration = OTel.Configuration.default
        configuration.serviceName = "bedside"
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.batchSpanProcessor.scheduleDelay = defaultScheduleDelay
        switch protocolName {
        case "http/protobuf": configuration.traces.otlpExporter.protocol = .httpProtobuf
        case "http/json": configuration.traces.otlpExporter.protocol = .httpJSON
        case "grpc": configuration.traces.otlpExporter.protocol = .grpc
        default:
            throw ValidationError("OTEL_EXPORTER_OTLP_PROTOCOL must be grpc, http/protobuf or http/json, not '\(protocolName)'.")
        }
        // The generic endpoint gets the signal's path over HTTP; the traces endpoint is used as is.
        let shown: String
        if let tracesEndpoint {
            shown = tracesEndpoint
        } else if let endpoint, protocolName != "grpc" {
            shown = (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/v1/traces"
        } else {
            shown = endpoint ?? ""
        }
        // Set in code too, so the exporter uses exactly what was read (and shown) here.
        configuration.traces.otlpExporter.endpoint = shown
        return TracingSettings(
            configuration: configuration,
            destination: "otlp \(protocolName) \(shown)",
            captureContent: capture
        )
    }

    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: `SPAN_ONLY` or `true` records content.
    static func captureContent(_ environment: [String: String]) throws -> Bool {
        guard let raw = environment["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"]?.trimmingCharacters(in: .whitespaces),
            !raw.isEmpty
        else { return false }
        switch raw.uppercased() {
        case "SPAN_ONLY", "TRUE", "SPAN_AND_EVENT": return true
        case "NO_CONTENT", "FALSE", "EVENT_ONLY": return false
        default:
            throw ValidationError(
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT must be SPAN_ONLY, true, NO_CONTENT or false, not '\(raw)'."
            )
        }
    }

    /// Starts the exporter and makes it the process's tracer; returns the service that exports
    /// (and flushes on shutdown), or nil when tracing is off.
    ///
    /// Call before creating any HTTP client: a client picks its tracer when it is configured.
    func bootstrap(metrics: BedsideMetrics) throws -> (any Service)? {
        metrics.setTracingEnabled(configuration != nil)
        guard let exporter = try makeExporter(metrics: metrics) else { return nil }
        InstrumentationSystem.bootstrap(exporter.tracer)
        return exporter.service
    }

    /// The tracer and the service that exports its spans, reporting drops and failed exports to
    /// `metrics`; nil when tracing is off. Bootstraps nothing.
    func makeExporter(metrics: BedsideMetrics) throws -> (tracer: any Tracer, service: any Service)? {
        guard var configuration else { return nil }
        configuration.diagnosticLogger = .custom(
            Logger(label: "swift-otel") { label in ExportDiagnostics(label: label, metrics: metrics) }
        )
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return (backend.factory, backend.service)
    }
}
