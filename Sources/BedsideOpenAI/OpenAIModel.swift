public import AsyncHTTPClient
public import BedsideCore
import Foundation
import NIOCore
import NIOHTTP1
import OpenAPIRuntime
import Synchronization

/// A ``LanguageModel`` that streams Chat Completions from OpenAI, Azure OpenAI or a compatible server.
///
/// Created without a client, the model owns an `HTTPClient` and ``shutdown()`` must be awaited
/// before the process ends; an injected client stays the caller's to shut down.
///
/// The retry backoff (and `Retry-After`), the first-token timeout and the stall timeout wait on
/// the injected clock; the TCP connect timeout is the HTTP client's own.
public final class OpenAIModel: LanguageModel {
    public let configuration: OpenAIConfiguration
    private let client: HTTPClient
    private let clock: ElapsedClock
    private let ownsClient: Bool
    /// Set once the endpoint has refused `stream: true` together with tools (some llama.cpp
    /// server builds do); requests with tools are then sent without streaming.
    private let refusesStreamingWithTools = Atomic(false)
    /// Whether requests carry their output budget as `max_completion_tokens` rather than
    /// `max_tokens`: first as the configuration decides, then, when automatic, as the endpoint
    /// has shown it wants.
    private let sendsMaxCompletionTokens: Atomic<Bool>
    /// The offered tools' JSON, encoded once while they stay the same.
    private let toolsJSON = ToolsJSON()

    /// - Parameter clock: what the retries and the timeouts wait on; the continuous clock by default.
    public init(configuration: OpenAIConfiguration, httpClient: HTTPClient? = nil, clock: any Clock<Duration> = ContinuousClock()) {
        self.configuration = configuration
        self.clock = ElapsedClock(clock)
        sendsMaxCompletionTokens = Atomic(configuration.initialOutputTokensMember == .maxCompletionTokens)
        if let httpClient {
            client = httpClient
            ownsClient = false
        } else {
            var clientConfiguration = HTTPClient.Configuration()
            clientConfiguration.timeout.connect = TimeAmount(configuration.timeouts.connect)
            // A streamed reply holds its HTTP/1.1 connection for the whole answer: the client's
            // default of 8 connections per host would let only 8 turns of the whole server talk
            // to a local model (Ollama, vLLM, the benchmark's fake) at once, and queue the rest.
            clientConfiguration.connectionPool = .init(
                idleTimeout: .seconds(60),
                concurrentHTTP1ConnectionsPerHostSoftLimit: Self.connectionsPerHost
            )
            client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            ownsClient = true
        }
    }

    /// HTTP/1.1 connections kept per model host: one per concurrently streaming turn.
    static let connectionsPerHost = 1024

    /// Shuts down the model's own HTTP client; does nothing for an injected one.
    public func shutdown() async throws {
        if ownsClient { try await client.shutdown() }
    }

    public var modelName: String { configuration.model }
    public var providerName: String { configuration.providerName }

    public var endpoint: String? {
        switch configuration.provider {
        case .openAI(let baseURL, _): baseURL
        case .azure(let endpoint, _, let deployment, _): "\(endpoint)/openai/deployments/\(deployment)"
        }
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await self.run(request) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Streams the response into `receive` from the calling task, with no stream of its own in
    /// between: the agent's model request hands each event straight to its turn.
    public func stream(_ request: ModelRequest, into receive: @escaping @Sendable (ModelStreamEvent) -> Void) async throws {
        try await run(request, receive)
    }

    private func run(_ request: ModelRequest, _ receive: @escaping @Sendable (ModelStreamEvent) -> Void) async throws {
        let hasTools = !request.tools.isEmpty
        var streaming = !(hasTools && refusesStreamingWithTools.load(ordering: .relaxed))
        var outputTokens = currentOutputTokensMember
        // Only an automatic choice adapts, and only once per request.
        var mayChangeOutputTokens = configuration.outputTokensParameter == .automatic && request.maxOutputTokens != nil
        var httpRequest = try makeHTTPRequest(request, streaming: streaming, outputTokens: outputTokens)
        let policy = configuration.retry
        var attemptNumber = 1
        while true {
            try Task.checkCancellation()
            let outcome: Outcome
            do {
                outcome = try await attempt(
                    httpRequest,
                    streaming: streaming,
                    outputTokens: mayChangeOutputTokens ? outputTokens : nil,
                    receive
                )
            } catch let refusal as StreamingRefused {
                // With tools, asked once more at once without streaming; not one of the retries.
                guard hasTools else { throw refusal.failure }
                refusesStreamingWithTools.store(true, ordering: .relaxed)
                streaming = false
                httpRequest = try makeHTTPRequest(request, streaming: false, outputTokens: outputTokens)
                continue
            } catch is OutputTokensRefused {
                // The endpoint wants the other member: asked once more at once; not one of the retries.
                outputTokens = outputTokens == .maxTokens ? .maxCompletionTokens : .maxTokens
                sendsMaxCompletionTokens.store(outputTokens == .maxCompletionTokens, ordering: .relaxed)
                mayChangeOutputTokens = false
                httpRequest = try makeHTTPRequest(request, streaming: streaming, outputTokens: outputTokens)
                continue
            }
            guard case .retry(let failure, let retryAfter) = outcome else { return }
            guard attemptNumber < policy.maxAttempts else { throw failure }
            try await clock.sleep(for: retryAfter ?? backoff(attempt: attemptNumber, policy: policy))
            attemptNumber += 1
        }
    }

    private enum Outcome {
        case done
        /// The request may be retried: the failure to report if it is not, and the server's `Retry-After`.
        case retry(ModelError, Duration?)
    }

    /// The endpoint answered a streaming request with tools by refusing to stream.
    private struct StreamingRefused: Error {
        var failure: ModelError
    }

    /// The endpoint refused the member the output budget was sent in.
    private struct OutputTokensRefused: Error {}

    /// The member the next request carries its output budget in.
    private var currentOutputTokensMember: OpenAIConfiguration.OutputTokensParameter {
        sendsMaxCompletionTokens.load(ordering: .relaxed) ? .maxCompletionTokens : .maxTokens
    }

    /// Whether an error response refuses the output budget's member `sent`, as OpenAI answers
    /// `max_tokens` for a reasoning model ("Unsupported parameter: 'max_tokens' … Use
    /// 'max_completion_tokens' instead") and older Azure API versions answer
    /// `max_completion_tokens` ("Unrecognized request argument supplied").
    static func refusesOutputTokens(_ sent: OpenAIConfiguration.OutputTokensParameter, status: Int, body: String) -> Bool {
        guard [400, 422].contains(status) else { return false }
        let text = body.lowercased()
        guard text.contains(sent.rawValue) else { return false }
        return ["unsupported", "not supported", "unrecognized", "unknown", "not permitted", "extra"].contains {
            text.contains($0)
        }
    }

    /// Sends the request once and streams a successful response (or yields a whole one as the
    /// same events); throws when the failure may not be retried.
    ///
    /// - Parameter outputTokens: the member the budget was sent in, when a refusal of it may
    ///   change the member (``OutputTokensRefused``); nil when it may not.
    private func attempt(
        _ httpRequest: HTTPClientRequest,
        streaming: Bool,
        outputTokens: OpenAIConfiguration.OutputTokensParameter?,
        _ receive: @escaping @Sendable (ModelStreamEvent) -> Void
    ) async throws -> Outcome {
        let response: HTTPClientResponse
        do {
            response = try await responseHead(httpRequest)
        } catch let silence as NoResponse {
            let failure = ModelError(
                code: .unavailable,
                message: "Cannot connect to \(endpointURL): is the model server running? (no response within \(silence.limit))"
            )
            return .retry(failure, nil)
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            let failure = ModelError(
                code: .unavailable,
                message: "Cannot connect to \(endpointURL): is the model server running? (\(error))"
            )
            return .retry(failure, nil)
        }
        let status = Int(response.status.code)
        if status == 200 {
            if streaming {
                try await StreamReader(timeouts: configuration.timeouts, clock: clock).read(response.body, into: receive)
            } else {
                for event in try await wholeResponse(response.body) { receive(event) }
            }
            return .done
        }
        let body = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        let failure = statusError(status, body: body)
        if let outputTokens, Self.refusesOutputTokens(outputTokens, status: status, body: body) { throw OutputTokensRefused() }
        if streaming, Self.refusesStreaming(status: status, body: body) { throw StreamingRefused(failure: failure) }
        guard status == 429 || status >= 500 else { throw failure }
        let retryAfter = response.headers.first(name: "retry-after").flatMap(Int.init).map { Duration.seconds($0) }
        return .retry(failure, retryAfter)
    }

    /// The endpoint sent no response head within the first-token timeout.
    private struct NoResponse: Error {
        var limit: Duration
    }

    /// Sends the request and waits for the response head, for at most the first-token timeout
    /// on the model's clock; the request is cancelled and awaited when the time runs out.
    private func responseHead(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let limit = configuration.timeouts.firstToken
        return try await withThrowingTaskGroup(of: HTTPClientResponse?.self) { group in
            group.addTask { [client] in try await client.execute(request, deadline: .distantFuture) }
            group.addTask { [clock] in
                try await clock.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else { throw NoResponse(limit: limit) }
            return response
        }
    }

    /// Whether an error response says the server cannot stream (with tools), e.g. llama.cpp's
    /// 500 "Cannot use tools with stream".
    static func refusesStreaming(status: Int, body: String) -> Bool {
        guard [400, 422, 500, 501].contains(status) else { return false }
        let text = body.lowercased()
        return text.contains("stream") && (text.contains("tool") || text.contains("function"))
    }

    /// Reads a non-streaming response, within the stall timeout, as the events a stream would give.
    private func wholeResponse(_ body: HTTPClientResponse.Body) async throws -> [ModelStreamEvent] {
        let limit = configuration.timeouts.stalledStream
        let bytes = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await body.collect(upTo: 16 * 1024 * 1024) }
            group.addTask { [clock] in
                try await clock.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let bytes = first else {
                throw ModelError(code: .error, message: "The model endpoint sent no complete response within \(limit)")
            }
            return bytes
        }
        do {
            return try JSONDecoder().decode(ChatCompletion.self, from: Data(bytes.readableBytesView)).events
        } catch {
            throw ModelError(
                code: .error,
                message: "The model endpoint sent a malformed response: \(String(buffer: bytes).prefix(200))"
            )
        }
    }

    /// Exponential backoff with full jitter: a random delay up to `base * 2^(attempt-1)`, capped.
    private func backoff(attempt: Int, policy: OpenAIConfiguration.RetryPolicy) -> Duration {
        let ceiling = min(policy.baseDelay * (1 << min(attempt - 1, 20)), policy.maxDelay)
        return ceiling * Double.random(in: 0...1)
    }

    private var keyVariable: String {
        if case .azure = configuration.provider { return "AZURE_OPENAI_API_KEY" }
        return "OPENAI_API_KEY"
    }

    private func statusError(_ status: Int, body: String) -> ModelError {
        let detail = body.isEmpty ? "" : ": \(body.prefix(300))"
        switch status {
        case 401, 403:
            return ModelError(code: .unavailable, httpStatus: status, message: "\(status) from the model endpoint: check \(keyVariable)")
        case 404:
            return ModelError(
                code: .unavailable,
                httpStatus: status,
                message: "404 from the model endpoint: model or deployment not found (\(configuration.description))"
            )
        case 429:
            return ModelError(
                code: .error,
                httpStatus: status,
                message: "429 from the model endpoint: rate limited, retries exhausted\(detail)"
            )
        default:
            return ModelError(code: .error, httpStatus: status, message: "\(status) from the model endpoint\(detail)")
        }
    }

    private var endpointURL: String {
        switch configuration.provider {
        case .openAI(let baseURL, _):
            "\(baseURL)/chat/completions"
        case .azure(let endpoint, _, let deployment, let apiVersion):
            "\(endpoint)/openai/deployments/\(deployment)/chat/completions?api-version=\(apiVersion)"
        }
    }

    private func makeHTTPRequest(
        _ request: ModelRequest,
        streaming: Bool,
        outputTokens: OpenAIConfiguration.OutputTokensParameter
    ) throws -> HTTPClientRequest {
        var httpRequest = HTTPClientRequest(url: endpointURL)
        httpRequest.method = .POST
        httpRequest.headers.add(name: "Content-Type", value: "application/json")
        httpRequest.headers.add(name: "Accept", value: streaming ? "text/event-stream" : "application/json")
        switch configuration.provider {
        case .openAI(_, let apiKey?):
            httpRequest.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
        case .openAI(_, nil):
            break
        case .azure(_, let apiKey, _, _):
            httpRequest.headers.add(name: "api-key", value: apiKey)
        }
        httpRequest.body = .bytes(
            ByteBuffer(string: ChatCompletionsBody(request, streaming: streaming, outputTokens: outputTokens, toolsJSON: toolsJSON).json)
        )
        return httpRequest
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
