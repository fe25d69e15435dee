import AsyncHTTPClient
import Foundation
import Logging
import MCP
import NIOCore
import NIOHTTP1

/// The MCP Streamable HTTP transport on async-http-client: each message is a POST, answered
/// with JSON, with an event stream of messages, or with 202 for notifications and responses.
///
/// Keeps the `Mcp-Session-Id` the server assigns and sends `MCP-Protocol-Version` once it is
/// negotiated. After initialization it opens the optional GET stream for the server's own
/// notifications (such as `notifications/tools/list_changed`); a server that answers 405
/// simply has none. A server that cannot be reached, or forgets the session (404), ends
/// ``lifetime`` so that the toolset reconnects.
actor StreamableHTTPTransport: Transport, LifetimeTransport {
    nonisolated let logger: Logger
    nonisolated let lifetime = TransportLifetime()
    private let url: URL
    private let headers: [String: String]
    private let client: HTTPClient
    private var sessionID: String?
    private var protocolVersion: String?
    private var tasks: [Task<Void, Never>] = []
    private let incoming: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation

    init(url: URL, headers: [String: String], client: HTTPClient, logger: Logger) {
        self.url = url
        self.headers = headers
        self.client = client
        self.logger = logger
        (incoming, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {}

    func disconnect() async {
        let running = tasks
        tasks = []
        for task in running { task.cancel() }
        // Ends the session on the server, unless the server already forgot it or is unreachable.
        if sessionID != nil, !(lifetime.endReason ?? "").hasPrefix("cannot reach"), !(lifetime.endReason ?? "").contains("no longer knows")
        {
            let request = makeRequest(method: .DELETE)
            // Its own task: disconnecting often happens in a cancelled one, which would cancel the request.
            await Task { [client] in _ = try? await client.execute(request, timeout: .seconds(2)) }.value
        }
        lifetime.end("disconnected")
        continuation.finish()
        // The event streams' readers end with the connection.
        for task in running { await task.value }
    }

    func send(_ data: Data) async throws {
        if let reason = lifetime.endReason { throw TransportError(description: reason) }
        var request = makeRequest(method: .POST)
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        request.body = .bytes(ByteBuffer(bytes: data))
        let response = try await client.send(request, timeout: .hours(1), to: url, ending: lifetime)
        if let assigned = response.headers.first(name: HTTPHeaderName.sessionID) { sessionID = assigned }
        switch response.status.code {
        case 202, 204:
            if jsonRPCMethod(data) == "notifications/initialized" { openNotificationStream() }
        case 200..<300:
            if response.isEventStream {
                let events = response.body.serverSentEvents()
                track { [weak self] in await self?.forward(events) }
            } else {
                let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
                let message = Data(buffer.readableBytesView)
                guard !message.isEmpty else { return }
                if protocolVersion == nil, let version = negotiatedProtocolVersion(message) { protocolVersion = version }
                continuation.yield(message)
            }
        case 404 where sessionID != nil:
            let reason = "the server at \(url.absoluteString) no longer knows session \(sessionID ?? "")"
            lifetime.end(reason)
            throw TransportError(description: reason)
        default:
            let snippet = await response.bodySnippet()
            throw TransportError(
                description: "\(url.absoluteString) answered HTTP \(response.status.code)\(snippet.isEmpty ? "" : ": \(snippet)")"
            )
        }
    }

    func receive() -> AsyncThrowingStream<Data, any Error> {
        incoming
    }

    private func makeRequest(method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(configured: headers)
        if let sessionID { request.headers.replaceOrAdd(name: HTTPHeaderName.sessionID, value: sessionID) }
        if let protocolVersion { request.headers.replaceOrAdd(name: HTTPHeaderName.protocolVersion, value: protocolVersion) }
        return request
    }

    private func track(_ work: @escaping @Sendable () async -> Void) {
        tasks.removeAll { $0.isCancelled }
        tasks.append(Task { await work() })
    }

    /// Yields each event's data as a message; an event stream that breaks is not fatal, since
    /// the server keeps the session.
    private func forward(_ events: AsyncThrowingStream<SSEMessage, any Error>) async {
        do {
            for try await event in events where event.event == "message" && !event.data.isEmpty {
                let message = Data(event.data.utf8)
                if protocolVersion == nil, let version = negotiatedProtocolVersion(message) { protocolVersion = version }
                continuation.yield(message)
            }
        } catch {
            logger.debug("MCP event stream ended", metadata: ["error": "\(error)"])
        }
    }

    private func openNotificationStream() {
        track { [weak self] in await self?.listenForNotifications() }
    }

    private func listenForNotifications() async {
        var request = makeRequest(method: .GET)
        request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        guard let response = try? await client.execute(request, timeout: .hours(24)),
            response.status == .ok, response.isEventStream
        else { return }
        await forward(response.body.serverSentEvents())
    }
}
