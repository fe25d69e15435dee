public import BedsideCore
import Foundation
import Hummingbird
import Logging
import Synchronization

/// What the fake server does with one request.
public enum Reply: Sendable {
    /// 200 with these SSE `data:` payloads, then `[DONE]` when `done`; `lead` waits before the
    /// first payload, `pause` after it, `interval` between every two payloads, `cut` drops the
    /// connection after that many payloads.
    case stream(
        [String],
        done: Bool = true,
        lead: Duration? = nil,
        pause: Duration? = nil,
        interval: Duration? = nil,
        cut: Int? = nil
    )
    /// An error status with this body, and a `Retry-After` header when given.
    case status(Int, retryAfter: String? = nil, body: String = "{\"error\":\"scripted\"}")
    /// 200 with this JSON body: a whole (non-streaming) chat completion.
    case completion(String)
}

/// A request as the fake server received it.
public struct ReceivedRequest: Sendable {
    public var path: String
    public var query: String
    public var headers: [String: String]
    public var body: JSONValue
    public var at: ContinuousClock.Instant
}

struct CutConnection: Error {}

/// The fake server's script and what it has received so far.
final class Script: Sendable {
    private let state: Mutex<(replies: [Reply], received: [ReceivedRequest])>
    /// When set, answers every request from its raw JSON body; nothing is recorded.
    let responder: (@Sendable (String) -> Reply)?

    init(_ replies: [Reply]) {
        state = Mutex((replies, []))
        responder = nil
    }

    init(responder: @escaping @Sendable (String) -> Reply) {
        state = Mutex(([], []))
        self.responder = responder
    }

    var received: [ReceivedRequest] { state.withLock { $0.received } }

    func next(_ request: ReceivedRequest) -> Reply {
        state.withLock {
            $0.received.append(request)
            return $0.replies.isEmpty ? .status(500) : $0.replies.removeFirst()
        }
    }
}

/// An HTTP server on 127.0.0.1 that answers Chat Completions in the OpenAI streaming wire format.
public final class FakeOpenAIServer: Sendable {
    public let port: Int
    let script: Script
    private let server: LoopbackServer

    /// Every request so far, in arrival order.
    public var received: [ReceivedRequest] { script.received }
    /// The OpenAI-style base URL (`…/v1`).
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    /// The Azure-style endpoint (no path).
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Starts the server on a free port; each request takes the next reply, then 500s.
    public convenience init(_ replies: [Reply]) async throws {
        try await self.init(script: Script(replies))
    }

    /// Starts the server on a free port; `responder` answers every request from its JSON body
    /// text, for as many requests as come (the benchmark's endless model). Requests are not kept.
    public convenience init(responder: @escaping @Sendable (String) -> Reply) async throws {
        try await self.init(script: Script(responder: responder))
    }

    private init(script: Script) async throws {
        let router = Router()
        @Sendable func response(to reply: Reply) -> Response {
            switch reply {
            case .completion(let json):
                return Response(
                    status: .ok,
                    headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: json))
                )
            case .status(let code, let retryAfter, let text):
                var fields = HTTPFields()
                if let retryAfter { fields[.retryAfter] = retryAfter }
                return Response(
                    status: .init(code: code),
                    headers: fields,
                    body: .init(byteBuffer: ByteBuffer(string: text))
                )
            case .stream(let payloads, let done, let lead, let pause, let interval, let cut):
                return Response(
                    status: .ok,
                    headers: [.contentType: "text/event-stream"],
                    body: ResponseBody { writer in
                        if let lead { try await Task.sleep(for: lead) }
                        // Intervals count from fixed deadlines, so that late wake-ups do not add up.
                        var deadline = ContinuousClock.now
                        for (index, payload) in payloads.enumerated() {
                            if let cut, index == cut { throw CutConnection() }
                            try await writer.write(ByteBuffer(string: "data: \(payload)\n\n"))
                            if index == 0, let pause {
                                try await Task.sleep(for: pause)
                                deadline = .now
                            }
                            if let interval, index < payloads.count - 1 {
                                deadline += interval
                                try await Task.sleep(until: deadline, clock: .continuous)
                            }
                        }
                        if done { try await writer.write(ByteBuffer(string: "data: [DONE]\n\n")) }
                        try await writer.finish(nil)
                    }
                )
            }
        }
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            if let responder = script.responder {
                return response(to: responder(String(decoding: bytes.readableBytesView, as: UTF8.self)))
            }
            let body = try JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView))
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let received = ReceivedRequest(
                path: request.uri.path,
                query: request.uri.query ?? "",
                headers: headers,
                body: body,
                at: .now
            )
            return response(to: script.next(received))
        }
        router.post("/v1/chat/completions", use: handler)
        router.post("/openai/deployments/:deployment/chat/completions", use: handler)
        let server = try await LoopbackServer.start(router: router, label: "fake-openai")
        self.port = server.port
        self.script = script
        self.server = server
    }

    public func stop() async {
        await server.stop()
    }
}
