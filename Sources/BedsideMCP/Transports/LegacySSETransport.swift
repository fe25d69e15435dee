import AsyncHTTPClient
import BedsideCore
import Foundation
import Logging
import MCP
import NIOCore
import NIOHTTP1

/// The legacy MCP HTTP+SSE transport (protocol 2024-11-05) on async-http-client, as Aidbox
/// serves it: a GET opens an event stream whose first `endpoint` event names the URL to POST
/// messages to; every answer arrives on the stream.
///
/// When the stream ends, the server is gone: ``lifetime`` ends and the toolset reconnects.
actor LegacySSETransport: Transport, LifetimeTransport {
    nonisolated let logger: Logger
    nonisolated let lifetime = TransportLifetime()
    private let url: URL
    private let headers: [String: String]
    private let client: HTTPClient
    private let endpointTimeout: Duration
    private let clock: ElapsedClock
    private var endpoint: URL?
    private var streamTask: Task<Void, Never>?
    private let incoming: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation

    init(
        url: URL,
        headers: [String: String],
        client: HTTPClient,
        endpointTimeout: Duration = .seconds(30),
        clock: ElapsedClock = ElapsedClock(ContinuousClock()),
        logger: Logger
    ) {
        self.url = url
        self.headers = headers
        self.client = client
        self.endpointTimeout = endpointTimeout
        self.clock = clock
        self.logger = logger
        (incoming, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        request.headers.add(configured: headers)
        request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        let response = try await client.send(request, timeout: .hours(24), to: url, ending: lifetime)
        guard response.status == .ok, response.isEventStream else {
            let snippet = await response.bodySnippet()
            let reason =
                "\(url.absoluteString) answered HTTP \(response.status.code)"
                + (response.isEventStream ? "" : " without an event stream") + (snippet.isEmpty ? "" : ": \(snippet)")
            lifetime.end(reason)
            throw TransportError(description: reason)
        }
        let (endpoints, announce) = AsyncStream<URL>.makeStream()
        let events = response.body.serverSentEvents()
        streamTask = Task { [weak self] in
            await self?.read(events, announce: announce)
        }
        let racers: [@Sendable () async -> URL?] = [
            {
                for await endpoint in endpoints { return endpoint }
                return nil
            },
            { [endpointTimeout, clock] in
                try? await clock.sleep(for: endpointTimeout)
                return nil
            },
        ]
        let announced = await race(racers)
        guard let announced else {
            let reason = "\(url.absoluteString) sent no endpoint event"
            lifetime.end(reason)
            streamTask?.cancel()
            await streamTask?.value
            streamTask = nil
            throw TransportError(description: reason)
        }
        endpoint = announced
    }

    func disconnect() async {
        // The stream's reader is awaited, so that nothing of the connection outlives it.
        streamTask?.cancel()
        await streamTask?.value
        streamTask = nil
        lifetime.end("disconnected")
        continuation.finish()
    }

    func send(_ data: Data) async throws {
        if let reason = lifetime.endReason { throw TransportError(description: reason) }
        guard let endpoint else { throw TransportError(description: "not connected to \(url.absoluteString)") }
        var request = HTTPClientRequest(url: endpoint.absoluteString)
        request.method = .POST
        request.headers.add(configured: headers)
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: data))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(60))
        } catch {
            throw TransportError(description: "cannot post to \(endpoint.absoluteString): \(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            let snippet = await response.bodySnippet()
            throw TransportError(
                description: "\(endpoint.absoluteString) answered HTTP \(response.status.code)\(snippet.isEmpty ? "" : ": \(snippet)")"
            )
        }
        _ = try? await response.body.collect(upTo: 1024 * 1024)
    }

    func receive() -> AsyncThrowingStream<Data, any Error> {
        incoming
    }

    private func read(_ events: AsyncThrowingStream<SSEMessage, any Error>, announce: AsyncStream<URL>.Continuation) async {
        var reason = "the event stream of \(url.absoluteString) ended"
        do {
            for try await event in events {
                switch event.event {
                case "endpoint":
                    let text = event.data.trimmingCharacters(in: .whitespacesAndNewlines)
                    if let resolved = URL(string: text, relativeTo: url)?.absoluteURL {
                        announce.yield(resolved)
                    } else {
                        logger.warning("MCP endpoint event is not a URL", metadata: ["mcp.endpoint": "\(text)"])
                    }
                case "message" where !event.data.isEmpty:
                    continuation.yield(Data(event.data.utf8))
                default:
                    continue
                }
            }
        } catch {
            reason = "the event stream of \(url.absoluteString) failed: \(error)"
        }
        announce.finish()
        if !Task.isCancelled {
            lifetime.end(reason)
            continuation.finish(throwing: TransportError(description: reason))
        }
    }
}
