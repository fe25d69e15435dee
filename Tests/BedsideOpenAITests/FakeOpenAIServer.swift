import BedsideCore
import Foundation
import Hummingbird
import Synchronization

/// What the fake server does with one request.
enum Reply: Sendable {
    /// 200 with these SSE `data:` payloads, then `[DONE]` when `done`; `lead` waits before the
    /// first payload, `pause` after it, `cut` drops the connection after that many payloads.
    case stream([String], done: Bool = true, lead: Duration? = nil, pause: Duration? = nil, cut: Int? = nil)
    /// An error status, with a `Retry-After` header when given.
    case status(Int, retryAfter: String? = nil)
}

/// A request as the fake server received it.
struct ReceivedRequest: Sendable {
    var path: String
    var query: String
    var headers: [String: String]
    var body: JSONValue
    var at: ContinuousClock.Instant
}

struct CutConnection: Error {}

/// The fake server's script and what it has received so far.
final class Script: Sendable {
    private let state: Mutex<(replies: [Reply], received: [ReceivedRequest])>

    init(_ replies: [Reply]) {
        state = Mutex((replies, []))
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
final class FakeOpenAIServer: Sendable {
    let port: Int
    let script: Script
    private let task: Task<Void, any Error>

    var received: [ReceivedRequest] { script.received }
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    var endpoint: String { "http://127.0.0.1:\(port)" }

    init(_ replies: [Reply]) async throws {
        let script = Script(replies)
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let body = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let received = ReceivedRequest(
                path: request.uri.path,
                query: request.uri.query ?? "",
                headers: headers,
                body: body,
                at: .now
            )
            switch script.next(received) {
            case .status(let code, let retryAfter):
                var fields = HTTPFields()
                if let retryAfter { fields[.retryAfter] = retryAfter }
                return Response(
                    status: .init(code: code),
                    headers: fields,
                    body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"scripted\"}"))
                )
            case .stream(let payloads, let done, let lead, let pause, let cut):
                return Response(
                    status: .ok,
                    headers: [.contentType: "text/event-stream"],
                    body: ResponseBody { writer in
                        if let lead { try await Task.sleep(for: lead) }
                        for (index, payload) in payloads.enumerated() {
                            if let cut, index == cut { throw CutConnection() }
                            try await writer.write(ByteBuffer(string: "data: \(payload)\n\n"))
                            if index == 0, let pause { try await Task.sleep(for: pause) }
                        }
                        if done { try await writer.write(ByteBuffer(string: "data: [DONE]\n\n")) }
                        try await writer.finish(nil)
                    }
                )
            }
        }
        router.post("/v1/chat/completions", use: handler)
        router.post("/openai/deployments/:deployment/chat/completions", use: handler)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }
        )
        let task = Task {
            defer { portContinuation.finish() }
            try await app.runService()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CutConnection() }
        self.port = port
        self.script = script
        self.task = task
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}
