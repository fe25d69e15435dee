public import AsyncHTTPClient
public import BedsideCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A FHIR R4 server over REST as a ``FHIRDataSource``: reads and searches with `GET`,
/// authenticated by a bearer token or OAuth 2 client credentials (token cached until shortly
/// before it expires). Every failure is a ``FHIRServerError`` whose message says what to check.
///
/// Created without a client, the source owns an `HTTPClient`; await ``shutdown()`` before exit.
public final class RESTFHIRSource: FHIRDataSource {
    public let configuration: FHIRServerConfiguration
    private let client: HTTPClient
    private let ownsClient: Bool
    private let token = Mutex<(value: String, expires: ContinuousClock.Instant)?>(nil)

    public init(configuration: FHIRServerConfiguration, httpClient: HTTPClient? = nil) {
        self.configuration = configuration
        if let httpClient {
            client = httpClient
            ownsClient = false
        } else {
            var clientConfiguration = HTTPClient.Configuration()
            clientConfiguration.timeout.connect = .seconds(5)
            client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            ownsClient = true
        }
    }

    /// Shuts down the source's own HTTP client; does nothing for an injected one.
    public func shutdown() async throws {
        if ownsClient { try await client.shutdown() }
    }

    public var label: String { configuration.baseURL }

    /// Reads `type/id`. `type` must be an R4 resource type (else this throws, sending nothing);
    /// an id that breaks FHIR's id syntax, or is only dots, names no resource: nil, nothing sent.
    public func resource(type: String, id: String) async throws -> JSONValue? {
        try Self.checkType(type)
        guard FHIRIdentifier.isValid(id) else { return nil }
        let (status, body) = try await get("\(configuration.baseURL)/\(Self.pathSegment(type))/\(Self.pathSegment(id))")
        if status == 404 || status == 410 { return nil }
        try check(status, body)
        return try parse(body)
    }

    /// Searches `type`, which must be an R4 resource type (else this throws, sending nothing).
    public func page(type: String, parameters: [(name: String, value: String)]) async throws -> FHIRPage {
        try Self.checkType(type)
        let query = parameters.map { "\(Self.escape($0.name))=\(Self.escape($0.value))" }.joined(separator: "&")
        let (status, body) = try await get("\(configuration.baseURL)/\(Self.pathSegment(type))\(query.isEmpty ? "" : "?" + query)")
        try check(status, body)
        let bundle = try parse(body)
        var resources: [JSONValue] = []
        if case .array(let entries)? = bundle["entry"] {
            for entry in entries where entry["search"]?["mode"]?.stringValue != "outcome" {
                if let resource = entry["resource"] { resources.append(resource) }
            }
        }
        var hasMore = false
        if case .array(let links)? = bundle["link"] {
            hasMore = links.contains { $0["relation"]?.stringValue == "next" }
        }
        return FHIRPage(resources: resources, total: bundle["total"]?.integerValue.map { Int($0) }, hasMore: hasMore)
    }

    // MARK: - HTTP

    private func get(_ url: String) async throws -> (Int, ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/fhir+json")
        if let authorization = try await authorizationHeader() { request.headers.add(name: "Authorization", value: authorization) }
        return try await send(request, to: configuration.baseURL)
    }

    func send(_ request: HTTPClientRequest, to server: String) async throws -> (Int, ByteBuffer) {
        let timeout = configuration.timeout
        do {
            let (seconds, attoseconds) = timeout.components
            let response = try await client.execute(request, timeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
            let body = try await response.body.collect(upTo: 32 * 1024 * 1024)
            return (Int(response.status.code), body)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw FHIRServerError(message: "The FHIR server at \(server) did not answer within \(timeout).")
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as FHIRServerError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw FHIRServerError(message: "Cannot reach the FHIR server at \(server): is it running? (\(error))")
        }
    }

    func check(_ status: Int, _ body: ByteBuffer) throws {
        guard !(200..<300).contains(status) else { return }
        let detail = Self.diagnostics(body).map { ": \($0)" } ?? ""
        switch status {
        case 401, 403:
            throw FHIRServerError(
                message: "\(status) from the FHIR server: check BEDSIDE_FHIR_TOKEN or the client credentials\(detail)"
            )
        default:
            throw FHIRServerError(message: "\(status) from the FHIR server\(detail)")
        }
    }

    private func parse(_ body: ByteBuffer) throws -> JSONValue {
        do {
            return try FHIRJSON.parse(Data(body.readableBytesView))
        } catch {
            throw FHIRServerError(message: "The FHIR server sent something that is not JSON.")
        }
    }

    /// The `diagnostics` or `details.text` of an OperationOutcome body, if that is what it is.
    static func diagnostics(_ body: ByteBuffer) -> String? {
        guard let outcome = try? FHIRJSON.parse(Data(body.readableBytesView)),
            case .array(let issues)? = outcome["issue"], let issue = issues.first
        else {
            let text = String(buffer: body)
            return text.isEmpty ? nil : String(text.prefix(200))
        }
        return issue["diagnostics"]?.stringValue ?? issue["details"]?["text"]?.stringValue
    }

    // MARK: - Authentication

    func authorizationHeader() async throws -> String? {
        switch configuration.authentication {
        case .none: return nil
        case .bearer(let value): return "Bearer \(value)"
        case .clientCredentials(let tokenURL, let clientID, let secret):
            if let cached = token.withLock({ $0 }), cached.expires > .now { return "Bearer \(cached.value)" }
            return "Bearer \(try await fetchToken(tokenURL, clientID, secret))"
        }
    }

    private func fetchToken(_ url: String, _ clientID: String, _ secret: String) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let form = "grant_type=client_credentials&client_id=\(Self.escape(clientID))&client_secret=\(Self.escape(secret))"
        request.body = .bytes(ByteBuffer(string: form))
        let (status, body) = try await send(request, to: url)
        guard status == 200 else {
            throw FHIRServerError(
                message: "\(status) from the token endpoint \(url): check BEDSIDE_FHIR_CLIENT_ID and BEDSIDE_FHIR_CLIENT_SECRET"
            )
        }
        let answer = try parse(body)
        guard let value = answer["access_token"]?.stringValue else {
            throw FHIRServerError(message: "The token endpoint \(url) answered without an access_token.")
        }
        let lifetime = answer["expires_in"]?.integerValue ?? 300
        let expires = ContinuousClock.now + .seconds(max(0, lifetime - 30))
        token.withLock { $0 = (value, expires) }
        return value
    }

    // MARK: - URLs

    /// Every request stays below the base URL: only R4 type names and valid ids become path
    /// segments, and each segment is percent-encoded besides.
    private static func checkType(_ type: String) throws {
        guard FHIRResourceType.isKnown(type) else {
            throw FHIRServerError(message: "'\(type)' is not a FHIR R4 resource type, so Bedside does not ask the FHIR server for it.")
        }
    }

    /// Percent-encodes everything but ASCII letters, digits and `-._~`; a segment that would be
    /// only dots (`.`, `..`) has its dots encoded too, so it can never step out of the base path.
    public static func pathSegment(_ text: String) -> String {
        let encoded = percentEncode(text, keeping: "-._~")
        guard !encoded.isEmpty, encoded.utf8.allSatisfy({ $0 == UInt8(ascii: ".") }) else { return encoded }
        return String(repeating: "%2E", count: encoded.utf8.count)
    }

    /// A query name or value (or a form field): like a path segment, with `,` kept for FHIR's OR lists.
    static func escape(_ text: String) -> String {
        percentEncode(text, keeping: "-._~,")
    }

    private static func percentEncode(_ text: String, keeping extra: String) -> String {
        let kept = Set(extra.utf8)
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case 48...57, 65...90, 97...122:
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            case _ where kept.contains(byte):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += byte < 16 ? "%0\(hex)" : "%\(hex)"
            }
        }
        return encoded
    }
}

/// A FHIR server request that failed; the message says what happened and what to check.
public struct FHIRServerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
