import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OpenAPIRuntime

/// One server-sent event: its type (`message` when unnamed) and data.
struct SSEMessage: Sendable {
    var event: String
    var data: String
}

extension HTTPClientResponse.Body {
    /// The body read as server-sent events, in order.
    func serverSentEvents() -> AsyncThrowingStream<SSEMessage, any Error> {
        let bytes = self.map { ArraySlice($0.readableBytesView) }
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await event in bytes.asDecodedServerSentEvents() {
                        continuation.yield(SSEMessage(event: event.event ?? "message", data: event.data ?? ""))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension HTTPClientResponse {
    /// Whether the response is an event stream rather than one JSON document.
    var isEventStream: Bool {
        headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false
    }

    /// Up to 300 bytes of the body, for an error message.
    func bodySnippet() async -> String {
        guard let buffer = try? await body.collect(upTo: 64 * 1024) else { return "" }
        return String(String(buffer: buffer).prefix(300))
    }
}

extension HTTPHeaders {
    mutating func add(configured headers: [String: String]) {
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            replaceOrAdd(name: name, value: value)
        }
    }
}

/// Whether a JSON-RPC message (one, or a batch) holds a request, which expects a response.
func containsRequest(_ data: Data) -> Bool {
    guard let value = try? JSONSerialization.jsonObject(with: data) else { return false }
    let messages = (value as? [Any]) ?? [value]
    return messages.contains { message in
        guard let object = message as? [String: Any] else { return false }
        return object["method"] != nil && object["id"] != nil
    }
}

/// The `method` of a single JSON-RPC message, if it has one.
func jsonRPCMethod(_ data: Data) -> String? {
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
    return object["method"] as? String
}

/// The protocol version an `initialize` result carries, if `data` is one.
func negotiatedProtocolVersion(_ data: Data) -> String? {
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
        let result = object["result"] as? [String: Any]
    else { return nil }
    return result["protocolVersion"] as? String
}

extension HTTPClient {
    /// Sends `request` to an MCP server; when the server cannot be reached, ends `lifetime`
    /// with the reason (the reconnect loop reads it) and throws it as a `TransportError`.
    func send(
        _ request: HTTPClientRequest,
        timeout: TimeAmount,
        to url: URL,
        ending lifetime: TransportLifetime
    ) async throws -> HTTPClientResponse {
        do {
            return try await execute(request, timeout: timeout)
        } catch {
            let reason = "cannot reach \(url.absoluteString): \(error)"
            lifetime.end(reason)
            throw TransportError(description: reason)
        }
    }
}
