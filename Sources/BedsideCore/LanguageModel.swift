/// A chat model that streams its reply: the seam between the agent and any provider.
///
/// Implementations translate ``ModelRequest`` into their provider's wire format and the
/// response back into ``ModelStreamEvent``s as they arrive, assembling nothing: tool calls
/// come out as the fragments the provider sent. A stream fails with a ``ModelError``; any
/// other error is treated as ``ModelError/Code/error``.
///
/// What a model deliberately does not do: run tools, keep history or retry after the first
/// event has been yielded (a retry then would repeat text the user has already seen).
///
/// ```swift
/// for try await event in model.stream(ModelRequest(model: model.modelName, messages: messages)) {
///     if case .textDelta(let text) = event { print(text, terminator: "") }
/// }
/// ```
public protocol LanguageModel: Sendable {
    /// The model (or deployment) that requests go to, as shown in `openai_call` events.
    var modelName: String { get }

    /// The provider, e.g. `openai`, `azure` or `offline`, as shown in `openai_call` events.
    var providerName: String { get }

    /// Where requests go (a base URL or deployment), never a credential; nil when local.
    var endpoint: String? { get }

    /// Starts the request and streams the response.
    ///
    /// The request is sent when iteration begins. Cancelling the iterating task, or dropping
    /// the stream, stops the request and closes its connection promptly.
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error>

    /// Streams the response into `receive`, returning when it has ended; the same events, in
    /// the same order, as ``stream(_:)``, and the same errors thrown.
    ///
    /// The agent uses this: a model that can call `receive` as events arrive (the OpenAI
    /// client does) saves each event a hop through a stream of its own. Cancelling the calling
    /// task stops the request.
    func stream(_ request: ModelRequest, into receive: @escaping @Sendable (ModelStreamEvent) -> Void) async throws
}

extension LanguageModel {
    public var endpoint: String? { nil }

    public func stream(_ request: ModelRequest, into receive: @escaping @Sendable (ModelStreamEvent) -> Void) async throws {
        for try await event in stream(request) { receive(event) }
    }
}
