import Hummingbird
import Logging
import Synchronization

/// An OTLP/HTTP trace receiver on 127.0.0.1: accepts `POST /v1/traces` with an
/// `application/x-protobuf` body, decodes the spans and keeps them for the test to read.
///
/// What it deliberately does not do: JSON payloads or compressed bodies (a gzip body is
/// answered 415, so a test that enables compression fails loudly rather than passing empty).
/// With `stall`, it reads each request and never answers: a black-holed collector.
///
/// ```swift
/// let receiver = try await OTLPReceiver()
/// // export to "\(receiver.endpoint)/v1/traces" …
/// let spans = try await receiver.spans(atLeast: 4, within: .seconds(10))
/// ```
public final class OTLPReceiver: Sendable {
    /// What arrived so far.
    final class Received: Sendable {
        let state = Mutex<(spans: [OTLPSpan], requests: Int)>(([], 0))
    }

    public let port: Int
    private let received: Received
    private let server: LoopbackServer

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    /// Every span received so far, in arrival order.
    public var spans: [OTLPSpan] { received.state.withLock { $0.spans } }
    /// How many export requests arrived.
    public var requestCount: Int { received.state.withLock { $0.requests } }

    public init(stall: Bool = false) async throws {
        let received = Received()
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            if stall {
                received.state.withLock { $0.requests += 1 }
                try await Task.sleep(for: .seconds(600))
            }
            guard request.headers[.contentType]?.hasPrefix("application/x-protobuf") == true else {
                return Response(status: .unsupportedMediaType)
            }
            if let encoding = request.headers[.contentEncoding], encoding != "identity" {
                return Response(status: .unsupportedMediaType)
            }
            let body = try await request.body.collect(upTo: 32 << 20)
            let spans: [OTLPSpan]
            do {
                spans = try OTLPSpan.decodeRequest(Array(body.readableBytesView))
            } catch {
                return Response(status: .badRequest)
            }
            received.state.withLock {
                $0.spans += spans
                $0.requests += 1
            }
            // An empty ExportTraceServiceResponse: full success.
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
        }
        let server = try await LoopbackServer.start(router: router, label: "otlp-receiver")
        self.port = server.port
        self.received = received
        self.server = server
    }

    /// Waits until at least `count` spans have arrived matching `filter`, polling; returns them
    /// all (those matching), or what arrived when `limit` passed.
    public func spans(
        atLeast count: Int,
        within limit: Duration = .seconds(30),
        where filter: @Sendable (OTLPSpan) -> Bool = { _ in true }
    ) async throws -> [OTLPSpan] {
        let deadline = ContinuousClock.now + limit
        while true {
            let matching = spans.filter(filter)
            if matching.count >= count || ContinuousClock.now >= deadline { return matching }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public func stop() async {
        await server.stop()
    }
}
