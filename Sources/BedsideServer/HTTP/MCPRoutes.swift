import BedsideAuth
import BedsideCore
import BedsideProtocol
import HTTPTypes
import Hummingbird
import ServiceLifecycle

/// Mounts Bedside's MCP endpoint at `/mcp` (POST, GET and DELETE, as Streamable HTTP uses
/// them) behind the same Origin allow-list as the rest of the server.
///
/// The endpoint itself lives in another module (its names clash with Hummingbird's); this
/// route only translates requests and responses, streaming event-stream answers as they come.
struct MCPRoutes: Sendable {
    var endpoint: any MCPEndpoint
    var origins: OriginPolicy
    /// When on, `/mcp` is an OAuth protected resource: a bearer token (JWT or API key) is required.
    var authentication: Authentication = .none
    /// Ends an event stream (`GET /mcp`, or a streamed answer) when its credential ends.
    var watch: CredentialWatch?
    var maxBodyBytes = 4 << 20

    func add(to router: Router<BasicRequestContext>) {
        for method in [HTTPRequest.Method.post, .get, .delete] {
            router.on("/mcp", method: method) { request, _ in
                try await handle(request)
            }
        }
    }

    private func handle(_ request: Request) async throws -> Response {
        try origins.check(request, to: "use the MCP endpoint")
        var principal = SessionID.localOwner
        var credential = Credential.local
        if authentication.isEnabled {
            guard let authorization = request.headers[.authorization],
                let caller = await authentication.bearerCaller(authorization)
            else { throw authentication.unauthenticated(resourceMetadata: true) }
            guard caller.principal.has(.clinician) else {
                throw APIError(.forbidden, .forbidden, "The MCP tools read patient data: they need the clinician role.")
            }
            principal = caller.principal.key
            credential = caller.credential
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] = field.value
        }
        if let authority = request.head.authority { headers["Host"] = authority }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw APIError(.contentTooLarge, .frameTooLarge, "An MCP request body may be at most \(maxBodyBytes) bytes.")
        }
        let answer = await endpoint.handle(
            EndpointRequest(
                method: request.method.rawValue,
                path: request.uri.path,
                headers: headers,
                body: Array(body.readableBytesView),
                principal: principal
            )
        )
        var fields = HTTPFields()
        for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        let status = HTTPResponse.Status(code: answer.status)
        switch answer.body {
        case .bytes(let bytes):
            return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        case .stream(let chunks):
            // An event stream can stay open for as long as the client likes: it ends when the
            // server shuts down gracefully, so that it cannot hold the shutdown up, and when the
            // credential it was opened with ends.
            let (merged, output) = AsyncStream.makeStream(of: [UInt8].self)
            let watched = watch?.register(credential) { _ in output.finish() }
            return Response(
                status: status,
                headers: fields,
                body: ResponseBody { [endpoint, watch] writer in
                    let pump = Task {
                        do {
                            for try await chunk in chunks { output.yield(chunk) }
                        } catch {
                            // The endpoint's stream failed: end the response.
                        }
                        output.finish()
                    }
                    defer {
                        pump.cancel()
                        watch?.unregister(watched)
                    }
                    do {
                        try await withGracefulShutdownHandler {
                            for await chunk in merged {
                                try await writer.write(ByteBuffer(bytes: chunk))
                            }
                        } onGracefulShutdown: {
                            Task { await endpoint.shutdown() }
                        }
                    } catch {
                        // The client left: end the response either way.
                    }
                    try await writer.finish(nil)
                }
            )
        }
    }
}
