import AsyncHTTPClient
import BedsideAuth
import BedsideCore
import Crypto
import Foundation
import Testing

/// The code flow with PKCE against a provider on 127.0.0.1 whose token endpoint checks the
/// client's authentication and the verifier against the authorization request's challenge.
@Suite struct OIDCClientTests {
    static let redirectURI = "https://bedside.example/auth/callback"

    func makeClient(
        _ provider: FakeProvider,
        _ client: HTTPClient,
        secret: String?? = .none,
        maxPendingLogins: Int = 10_000
    ) -> OIDCClient {
        OIDCClient(
            configuration: OIDCClientConfiguration(
                issuer: provider.issuer,
                clientID: provider.clientID,
                clientSecret: secret ?? provider.clientSecret,
                redirectURI: Self.redirectURI,
                maxPendingLogins: maxPendingLogins
            ),
            httpClient: client,
            clock: provider.clock.clock
        )
    }

    static func query(_ url: String) throws -> [String: String] {
        let items = try #require(URLComponents(string: url)?.queryItems)
        return Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
    }

    @Test func theAuthorizationURLAsksForACodeWithPKCE() async throws {
        try await withProvider { provider, client in
            let oidc = makeClient(provider, client)
            let url = try await oidc.startLogin(returnTo: "/sessions/alpha")
            #expect(url.hasPrefix("\(provider.issuer)/authorize?tenant=test&"))
            let query = try Self.query(url)
            #expect(query["tenant"] == "test")
            #expect(query["response_type"] == "code")
            #expect(query["client_id"] == "bedside")
            #expect(query["redirect_uri"] == Self.redirectURI)
            #expect(query["scope"] == "openid profile email")
            #expect(query["code_challenge_method"] == "S256")
            #expect(query["code_challenge"]?.count == 43)
            #expect(query["state"]?.count == 43)
            #expect(query["nonce"]?.count == 43)
            let second = try Self.query(try await oidc.startLogin(returnTo: "/"))
            #expect(second["state"] != query["state"])
            #expect(second["nonce"] != query["nonce"])
            #expect(second["code_challenge"] != query["code_challenge"])
            #expect(provider.discoveryFetches == 1)
        }
    }

    @Test func aSignInFinishesOnceWithItsState() async throws {
        try await withProvider { provider, client in
            let oidc = makeClient(provider, client)
            let (code, state) = try provider.authorize(try await oidc.startLogin(returnTo: "/sessions/alpha?x=1"))
            let result = try await oidc.finishLogin(code: code, state: state)
            #expect(result.returnTo == "/sessions/alpha?x=1")
            #expect(result.token.subject == "alice-subject")
            #expect(result.token.issuer == provider.issuer)
            #expect(result.token.audiences == ["bedside"])
            #expect(result.idToken.split(separator: ".").count == 3)
            let principal = RoleMapping().principal(from: result.token)
            #expect(principal.name == "Alice Example")
            #expect(principal.roles == [.clinician, .auditor])
            #expect(provider.tokenRequests == 1)
            // The state is spent: the same callback again fails before reaching the provider.
            await #expect(throws: OIDCError.self) { try await oidc.finishLogin(code: code, state: state) }
            await #expect(throws: OIDCError.self) { try await oidc.finishLogin(code: code, state: "made-up-state") }
            #expect(provider.tokenRequests == 1)
        }
    }

    @Test func aPublicClientSendsItsIDInTheBody() async throws {
        try await withProvider(clientSecret: nil) { provider, client in
            let oidc = makeClient(provider, client)
            let (code, state) = try provider.authorize(try await oidc.startLogin(returnTo: "/"))
            #expect(try await oidc.finishLogin(code: code, state: state).token.subject == "alice-subject")
        }
    }

    @Test func aRefusedExchangeFailsTheSignIn() async throws {
        try await withProvider { provider, client in
            // The wrong client secret.
            let impostor = makeClient(provider, client, secret: "wrong")
            let first = try provider.authorize(try await impostor.startLogin(returnTo: "/"))
            await #expect(throws: OIDCError.self) { try await impostor.finishLogin(code: first.code, state: first.state) }
            // A verifier that does not match the challenge the provider saw.
            let oidc = makeClient(provider, client)
            let second = try provider.authorize(try await oidc.startLogin(returnTo: "/"))
            provider.update { state in
                state.grants[second.code]?.challenge = base64URL(Data(SHA256.hash(data: Data("another verifier".utf8))))
            }
            await #expect(throws: OIDCError.self) { try await oidc.finishLogin(code: second.code, state: second.state) }
            #expect(provider.tokenRequests == 2)
        }
    }

    @Test func anIDTokenWithAnotherNonceFails() async throws {
        try await withProvider { provider, client in
            let oidc = makeClient(provider, client)
            let (code, state) = try provider.authorize(try await oidc.startLogin(returnTo: "/"), nonce: "replayed-nonce")
            let error = await #expect(throws: OIDCError.self) { try await oidc.finishLogin(code: code, state: state) }
            #expect(error?.description.contains("wrongNonce") == true)
        }
    }

    @Test func aStateExpiresAndTheOldestAreDropped() async throws {
        try await withProvider { provider, client in
            let oidc = makeClient(provider, client, maxPendingLogins: 2)
            let stale = try provider.authorize(try await oidc.startLogin(returnTo: "/"))
            provider.clock.advance(601)
            await #expect(throws: OIDCError.self) { try await oidc.finishLogin(code: stale.code, state: stale.state) }
            let first = try provider.authorize(try await oidc.startLogin(returnTo: "/1"))
            let second = try provider.authorize(try await oidc.startLogin(returnTo: "/2"))
            let third = try provider.authorize(try await oidc.startLogin(returnTo: "/3"))
            await #expect(throws: OIDCError.self) { try await oidc.finishLogin(code: first.code, state: first.state) }
            #expect(try await oidc.finishLogin(code: second.code, state: second.state).returnTo == "/2")
            #expect(try await oidc.finishLogin(code: third.code, state: third.state).returnTo == "/3")
        }
    }

    @Test(arguments: ["//evil.example/", "https://evil.example/", "/\\evil.example", "relative", ""])
    func returnToStaysOnThisSite(_ returnTo: String) async throws {
        try await withProvider { provider, client in
            let oidc = makeClient(provider, client)
            let (code, state) = try provider.authorize(try await oidc.startLogin(returnTo: returnTo))
            #expect(try await oidc.finishLogin(code: code, state: state).returnTo == "/")
        }
    }

    @Test func logoutGoesToTheProvidersEndSessionEndpoint() async throws {
        try await withProvider { provider, client in
            let oidc = makeClient(provider, client)
            let url = try #require(await oidc.logoutURL(idToken: "the.id.token", postLogoutRedirectURI: "https://bedside.example/"))
            #expect(url.hasPrefix("\(provider.issuer)/logout?"))
            let query = try Self.query(url)
            #expect(query["id_token_hint"] == "the.id.token")
            #expect(query["client_id"] == "bedside")
            #expect(query["post_logout_redirect_uri"] == "https://bedside.example/")
            #expect(query["state"]?.count == 32, "a state, which some providers need to send the browser back")
            let withoutHint = try Self.query(try #require(await oidc.logoutURL(idToken: nil, postLogoutRedirectURI: "/")))
            #expect(withoutHint["id_token_hint"] == nil)
            provider.update { $0.hasEndSession = false }
            #expect(await makeClient(provider, client).logoutURL(idToken: "t", postLogoutRedirectURI: "/") == nil)
        }
    }

    @Test func discoveryMustNameTheSameIssuer() async throws {
        try await withProvider { provider, client in
            provider.update { $0.advertisedIssuer = "https://elsewhere.example" }
            let oidc = makeClient(provider, client)
            await #expect(throws: OIDCError.self) { try await oidc.startLogin(returnTo: "/") }
            // A failed discovery is tried again on the next call.
            provider.update { $0.advertisedIssuer = nil }
            _ = try await oidc.startLogin(returnTo: "/")
            #expect(provider.discoveryFetches == 2)
        }
    }

    @Test func theIssuersVerifierChecksBearerTokens() async throws {
        try await withProvider { provider, client in
            let verifier = try await makeClient(provider, client).tokenVerifier(audiences: [apiAudience])
            let token = try await TestKeys.ec.sign(validClaims(provider), kid: "id-key")
            #expect(try await verifier.verify(token).subject == "alice")
            let forTheClient = try await TestKeys.ec.sign(validClaims(provider, ["aud": "bedside"]), kid: "id-key")
            await expectRefusal(.wrongAudience) { try await verifier.verify(forTheClient) }
        }
    }
}
