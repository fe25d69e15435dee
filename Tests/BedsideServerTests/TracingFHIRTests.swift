import AsyncHTTPClient
import BedsideCore
import BedsideFHIR
import BedsideTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import Testing

/// A tool that reads from a FHIR server over REST: its requests are client spans beneath the
/// tool's `execute_tool` span, and the server receives the trace in `traceparent`.
@Suite struct TracingFHIRTests {
    /// A FHIR server that answers every Patient read and records the `traceparent` of each request.
    final class TracedFHIRServer: Sendable {
        let port: Int
        private let server: LoopbackServer

        init() async throws {
            let router = Router()
            let recorder = Recorder()
            router.get("/fhir/Patient/:id") { request, context -> Response in
                recorder.add(request.headers[HTTPField.Name("traceparent")!])
                let id = context.parameters.get("id") ?? ""
                return Response(
                    status: .ok,
                    headers: [.contentType: "application/fhir+json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"resourceType":"Patient","id":"\#(id)"}"#))
                )
            }
            server = try await LoopbackServer.start(router: router, label: "traced-fhir")
            self.port = server.port
            self.recorder = recorder
        }

        let recorder: Recorder
        var received: [String?] { recorder.values.withLock { $0 } }

        final class Recorder: Sendable {
            let values = Mutex<[String?]>([])
            func add(_ value: String?) { values.withLock { $0.append(value) } }
        }

        func stop() async {
            await server.stop()
        }
    }

    /// Reads one patient from the FHIR server.
    struct ReadPatient: Toolset {
        let source: RESTFHIRSource

        func definitions() async throws -> [ToolDefinition] {
            [
                ToolDefinition(
                    name: "read_patient",
                    description: "Reads a patient.",
                    parameters: ["type": "object", "properties": ["id": ["type": "string"]]]
                )
            ]
        }

        func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
            let patient = try await source.resource(type: "Patient", id: arguments["id"]?.stringValue ?? "")
            return ToolOutput(content: patient?["id"]?.stringValue ?? "none", isError: false)
        }
    }

    @Test func aToolsFHIRRequestCarriesTraceparentAndNestsUnderTheToolSpan() async throws {
        let fhir = try await TracedFHIRServer()
        let receiver = try await OTLPReceiver()
        let rig = try await TraceRig.start(
            [
                .stream([
                    toolChunk(index: 0, id: "call_p", name: "read_patient", arguments: #"{"id":"p-1"}"#),
                    finishChunk("tool_calls"), usageChunk(prompt: 20, completion: 5),
                ]),
                .stream([textChunk("Found p-1."), finishChunk("stop"), usageChunk(prompt: 30, completion: 3)]),
            ],
            tracesURL: "\(receiver.endpoint)/v1/traces",
            tools: { client, _ in
                ReadPatient(
                    source: RESTFHIRSource(
                        configuration: FHIRServerConfiguration(baseURL: "http://127.0.0.1:\(fhir.port)/fhir"),
                        httpClient: client
                    )
                )
            }
        )
        let (_, events) = try await rig.turn("Who is p-1?")
        #expect(events.first { $0.type == "tool_result" }?["result"]?.stringValue == "p-1")
        let traceID = try #require(events.last?["trace_id"]?.stringValue)
        let spans = try await receiver.spans(atLeast: 6, within: .seconds(30)) { $0.traceID == traceID }
        let tool = try #require(spans.first { $0.name == "execute_tool read_patient" })
        let read = try #require(spans.first { $0.parentSpanID == tool.spanID })
        #expect(read.name == "GET")
        #expect(read.kind == .client)
        let header = try #require(fhir.received.first ?? nil)
        let parts = header.split(separator: "-").map(String.init)
        #expect(parts.count == 4)
        #expect(parts[1] == traceID)
        #expect(parts[2] == read.spanID)
        try await rig.stop()
        await receiver.stop()
        await fhir.stop()
    }
}
