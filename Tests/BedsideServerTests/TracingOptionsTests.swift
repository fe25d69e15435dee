import ArgumentParser
import Testing

@testable import bedside

/// How the executable reads the `OTEL_*` variables and `--capture-content`.
@Suite struct TracingOptionsTests {
    func settings(_ environment: [String: String], _ arguments: [String] = []) throws -> TracingSettings {
        try Options.parse(arguments).resolve(environment: environment).tracing
    }

    @Test func noEndpointMeansTracingOffWithoutComplaint() throws {
        let tracing = try settings([:])
        #expect(tracing.configuration == nil)
        #expect(tracing.destination == "off")
        #expect(!tracing.captureContent)
    }

    @Test func theGenericEndpointGetsTheTracesPath() throws {
        let tracing = try settings(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"])
        #expect(tracing.destination == "otlp http/protobuf http://localhost:4318/v1/traces")
        let configuration = try #require(tracing.configuration)
        #expect(configuration.serviceName == "bedside")
        #expect(!configuration.logs.enabled)
        #expect(!configuration.metrics.enabled)
        #expect(configuration.traces.batchSpanProcessor.scheduleDelay == .milliseconds(500))
        #expect(configuration.traces.otlpExporter.endpoint == "http://localhost:4318/v1/traces")
    }

    @Test func theTracesEndpointIsUsedAsIsAndGRPCIsAccepted() throws {
        let traces = try settings(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom"])
        #expect(traces.destination == "otlp http/protobuf http://collector:4318/custom")
        let grpc = try settings(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"])
        #expect(grpc.destination == "otlp grpc http://localhost:4317")
        #expect(grpc.configuration?.traces.otlpExporter.protocol == .grpc)
        #expect(grpc.configuration?.traces.otlpExporter.endpoint == "http://localhost:4317")
        #expect(traces.configuration?.traces.otlpExporter.endpoint == "http://collector:4318/custom")
    }

    @Test func theSDKSwitchAndTheNoneExporterTurnTracingOff() throws {
        let endpoint = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"]
        #expect(try settings(endpoint.merging(["OTEL_SDK_DISABLED": "true"]) { $1 }).configuration == nil)
        #expect(try settings(endpoint.merging(["OTEL_TRACES_EXPORTER": "none"]) { $1 }).configuration == nil)
    }

    @Test func badValuesAreUsageErrors() {
        let endpoint = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"]
        #expect(throws: ValidationError.self) { try settings(endpoint.merging(["OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"]) { $1 }) }
        #expect(throws: ValidationError.self) { try settings(endpoint.merging(["OTEL_TRACES_EXPORTER": "zipkin"]) { $1 }) }
        #expect(throws: ValidationError.self) { try settings(["OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"]) }
        #expect(throws: ValidationError.self) { try settings(["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "maybe"]) }
    }

    @Test func contentCaptureIsOnlyOnWhenAsked() throws {
        #expect(try settings(["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"]).captureContent)
        #expect(try settings(["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"]).captureContent)
        #expect(try !settings(["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT"]).captureContent)
        #expect(try settings([:], ["--capture-content"]).captureContent)
    }
}
