public import AsyncHTTPClient
import Foundation

/// The parts of an OpenID provider's discovery document Bedside uses.
public struct OIDCDiscovery: Sendable, Codable {
    public var issuer: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var jwksURI: String
    /// RP-initiated logout, when the provider offers it.
    public var endSessionEndpoint: String?
    public var userinfoEndpoint: String?

    public init(
        issuer: String,
        authorizationEndpoint: String,
        tokenEndpoint: String,
        jwksURI: String,
        endSessionEndpoint: String? = nil,
        userinfoEndpoint: String? = nil
    ) {
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.jwksURI = jwksURI
        self.endSessionEndpoint = endSessionEndpoint
        self.userinfoEndpoint = userinfoEndpoint
    }

    enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case jwksURI = "jwks_uri"
        case endSessionEndpoint = "end_session_endpoint"
        case userinfoEndpoint = "userinfo_endpoint"
    }

    /// The discovery document's address: `<issuer>/.well-known/openid-configuration`.
    public static func documentURL(issuer: String) -> String {
        (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + "/.well-known/openid-configuration"
    }

    /// GET <issuer>/.well-known/openid-configuration; `issuer` in it must equal `issuer` given.
    ///
    /// - Throws: ``OIDCError`` when the document cannot be fetched, is not a discovery document,
    ///   or names another issuer.
    public static func fetch(issuer: String, httpClient: HTTPClient) async throws -> OIDCDiscovery {
        let url = documentURL(issuer: issuer)
        let response: (status: Int, body: Data)
        do {
            response = try await AuthHTTP.get(url, client: httpClient)
        } catch {
            throw OIDCError("Cannot fetch the OpenID configuration at \(url): \(error)")
        }
        guard response.status == 200 else { throw OIDCError("\(response.status) from the OpenID configuration at \(url).") }
        let discovery: OIDCDiscovery
        do {
            discovery = try JSONDecoder().decode(OIDCDiscovery.self, from: response.body)
        } catch {
            throw OIDCError("The OpenID configuration at \(url) lacks issuer, authorization_endpoint, token_endpoint or jwks_uri.")
        }
        guard discovery.issuer == issuer else {
            throw OIDCError("The OpenID configuration at \(url) names the issuer \(discovery.issuer), not \(issuer).")
        }
        return discovery
    }
}

/// A failed OpenID Connect step: discovery, the sign-in state, the code exchange or the ID token.
public struct OIDCError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
