import AsyncHTTPClient
import BedsideAuth
import BedsideCore
import Foundation
import Testing

/// The audience of the bearer tokens in these tests.
let apiAudience = "bedside-api"

/// A verifier of `provider`'s tokens for ``apiAudience``, reading the provider's JWKS directly.
func makeVerifier(
    _ provider: FakeProvider,
    _ client: HTTPClient,
    jwksURL: String? = nil,
    discover: Bool = false,
    algorithms: Set<String> = TokenVerifierConfiguration.supportedAlgorithms
) -> TokenVerifier {
    TokenVerifier(
        configuration: TokenVerifierConfiguration(
            issuer: provider.issuer,
            audiences: [apiAudience],
            jwksURL: discover ? nil : (jwksURL ?? provider.jwksURL),
            algorithms: algorithms
        ),
        httpClient: client,
        clock: provider.clock.clock
    )
}

/// Claims of a token valid now, changed by `changes` (a `.null` value removes the claim).
func validClaims(_ provider: FakeProvider, _ changes: [String: JSONValue] = [:]) -> [String: JSONValue] {
    let now = Int64(provider.clock.now.timeIntervalSince1970)
    var claims: [String: JSONValue] = [
        "iss": .string(provider.issuer), "sub": "alice", "aud": .string(apiAudience),
        "exp": .integer(now + 300), "iat": .integer(now), "nbf": .integer(now), "name": "Alice Example",
    ]
    for (name, value) in changes {
        claims[name] = value == .null ? nil : value
    }
    return claims
}

/// Expects `body` to throw a ``TokenError`` with `reason`.
func expectRefusal(
    _ reason: TokenError.Reason,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> VerifiedToken
) async {
    do {
        let token = try await body()
        Issue.record("Expected \(reason), but the token of \(token.subject) was accepted", sourceLocation: sourceLocation)
    } catch let error as TokenError {
        #expect(error.reason == reason, "\(error.description)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("Expected a TokenError (\(reason)), got \(error)", sourceLocation: sourceLocation)
    }
}
