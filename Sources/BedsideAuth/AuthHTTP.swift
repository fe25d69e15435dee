import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The few HTTP calls of sign-in and token checks: discovery, JWKS and the token endpoint.
enum AuthHTTP {
    /// How long one call may take.
    static let timeout: TimeAmount = .seconds(10)
    /// The largest body read.
    static let maximumBody = 1024 * 1024

    /// GETs `url` as JSON: the status and the body.
    static func get(_ url: String, client: HTTPClient) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        return try await send(request, client: client)
    }

    /// POSTs a form to `url`: the status and the body.
    static func postForm(
        _ url: String,
        _ pairs: [(String, String)],
        headers: [(String, String)],
        client: HTTPClient
    ) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(pairs)))
        return try await send(request, client: client)
    }

    private static func send(_ request: HTTPClientRequest, client: HTTPClient) async throws -> (status: Int, body: Data) {
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: maximumBody)
        return (Int(response.status.code), Data(body.readableBytesView))
    }
}
