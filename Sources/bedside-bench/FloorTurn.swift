import AsyncHTTPClient
import BedsideCore
import BedsideOpenAI
import BedsideProtocol
import Foundation
import NIOCore
import NIOHTTP1
import OpenAPIRuntime

/// The floor's model: the Chat Completions endpoint, asked with the HTTP client Bedside uses
/// (AsyncHTTPClient, configured as Bedside's OpenAI model configures it).
struct FloorModel: Sendable {
    let client: HTTPClient
    /// `<base URL>/chat/completions`.
    let url: String
    let name: String

    init(baseURL: String, name: String) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(10)
        // As in Bedside: one HTTP/1.1 connection per concurrently streaming turn.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        url = baseURL + "/chat/completions"
        self.name = name
    }
}

/// One turn of the floor server, run on the event loop of the connection that asked for it:
/// the same two streaming Chat Completions requests Bedside makes for a turn with one tool
/// call, and the same events around them (docs/protocol.md, "Turns"). The tool is not run: its
/// result is a fixed small JSON text. No history is sent to the model and nothing is stored.
actor FloorTurn {
    nonisolated let loop: any EventLoop
    private let session: FloorSession
    private let hub: FloorHub
    private var model: FloorModel { hub.model }
    private let content: String
    private let clientMessageID: String?
    private let turnID = UUID().uuidString.lowercased()
    private let decoder = JSONDecoder()
    private let chunks = ChatCompletionsChunkReader()

    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    init(loop: any EventLoop, session: FloorSession, hub: FloorHub, content: String, clientMessageID: String?) {
        self.loop = loop
        self.session = session
        self.hub = hub
        self.content = content
        self.clientMessageID = clientMessageID
    }

    /// What one streamed reply said.
    private struct Reply {
        var text = ""
        var callID: String?
        var toolName: String?
        var arguments = ""
        var finishReason: String?
        var usage = TokenCount()
    }

    private struct TokenCount {
        var prompt: Int64 = 0
        var completion: Int64 = 0
        var total: Int64 = 0

        static func += (lhs: inout TokenCount, rhs: TokenCount) {
            lhs.prompt += rhs.prompt
            lhs.completion += rhs.completion
            lhs.total += rhs.total
        }
    }

    /// The tool's answer: what `find_patients` would say, fixed.
    static let toolResult =
        #"{"count":1,"more_available":false,"patients":[{"birth_date":"1971-03-02","gender":"female","id":"floor-patient-1","name":"Ann Smith"}],"total":1}"#

    func run() async {
        let started = ContinuousClock.now
        emit(.user(content: content, clientMessageID: clientMessageID))
        emit(.turn(TurnEvent(status: .started)))
        var tokens = TokenCount()
        do {
            var messages = [Self.message(role: "system", content: Self.systemPrompt), Self.message(role: "user", content: content)]
            let first = try await ask(messages)
            tokens += first.usage
            if let callID = first.callID, let toolName = first.toolName {
                let arguments = (try? decoder.decode(JSONValue.self, from: Data(first.arguments.utf8))) ?? .object([:])
                let toolStarted = ContinuousClock.now
                emit(.toolCall(toolCallID: callID, toolName: toolName, arguments: arguments))
                emit(
                    .toolResult(
                        ToolResultEvent(
                            toolCallID: callID,
                            toolName: toolName,
                            result: Self.toolResult,
                            durationMilliseconds: Self.milliseconds(since: toolStarted),
                            isError: false
                        )
                    )
                )
                messages.append(Self.assistantCall(id: callID, name: toolName, arguments: first.arguments))
                messages.append(Self.toolMessage(id: callID, content: Self.toolResult))
                tokens += try await ask(messages).usage
            }
            end(
                TurnEvent(
                    status: .completed,
                    durationMilliseconds: Self.milliseconds(since: started),
                    promptTokens: tokens.prompt,
                    completionTokens: tokens.completion,
                    totalTokens: tokens.total
                )
            )
        } catch {
            let cancelled = Task.isCancelled || error is CancellationError
            if !cancelled { emit(.error(code: .llmError, message: "The model request failed: \(error)")) }
            end(
                TurnEvent(
                    status: cancelled ? .cancelled : .failed,
                    durationMilliseconds: Self.milliseconds(since: started),
                    reason: cancelled ? "cancelled_by_user" : nil
                )
            )
        }
    }

    private func emit(_ payload: EventPayload) {
        session.emit(payload, turnID: turnID)
    }

    /// Emits the turn's end event, which frees the session.
    private func end(_ event: TurnEvent) {
        if session.emit(.turn(event), turnID: turnID, endsTurn: true) { hub.forgetIfUnused(session) }
    }

    /// One streaming request with these messages, bracketed by `openai_call` and
    /// `openai_response`; each text delta becomes an `assistant` event as it arrives.
    private func ask(_ messages: [String]) async throws -> Reply {
        let started = ContinuousClock.now
        emit(.openaiCall(model: model.name, provider: "openai"))
        var request = HTTPClientRequest(url: model.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.headers.add(name: "Authorization", value: "Bearer floor")
        request.body = .bytes(ByteBuffer(string: Self.body(model: model.name, messages: messages)))
        let response = try await model.client.execute(request, deadline: .now() + .seconds(60))
        guard response.status == .ok else { throw FloorModelError(status: response.status.code) }
        let done = ArraySlice("[DONE]".utf8)
        let events = response.body.map { ArraySlice($0.readableBytesView) }.asDecodedServerSentEvents(while: { $0 != done })
        var reply = Reply()
        let messageID = "msg-\(turnID)"
        for try await event in events {
            guard let data = event.data, !data.isEmpty else { continue }
            for chunkEvent in try chunks.events(inChunk: data) {
                switch chunkEvent {
                case .textDelta(let text):
                    reply.text += text
                    emit(.assistant(AssistantEvent(content: text, streaming: true, messageID: messageID)))
                case .toolCallDelta(let call) where call.index == 0:
                    if let id = call.id { reply.callID = id }
                    if let name = call.name { reply.toolName = name }
                    reply.arguments += call.argumentsFragment
                case .toolCallDelta:
                    break
                case .finish(let reason):
                    reply.finishReason = reason.rawValue
                case .usage(let usage):
                    reply.usage = TokenCount(
                        prompt: usage.promptTokens,
                        completion: usage.completionTokens,
                        total: usage.totalTokens
                    )
                }
            }
        }
        if !reply.text.isEmpty { emit(.assistant(AssistantEvent(content: reply.text, streaming: false, messageID: messageID))) }
        emit(
            .openaiResponse(
                ModelResponseEvent(
                    model: model.name,
                    promptTokens: reply.usage.prompt,
                    completionTokens: reply.usage.completion,
                    totalTokens: reply.usage.total,
                    durationMilliseconds: Self.milliseconds(since: started),
                    finishReason: reply.finishReason
                )
            )
        )
        return reply
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// The model answered with another status than 200.
struct FloorModelError: Error, CustomStringConvertible {
    var status: UInt
    var description: String { "\(status) from the model endpoint" }
}
