import BedsideAuth
import BedsideCore
import Crypto
import Foundation
import Testing

/// Bearer JWTs against a JWKS served on 127.0.0.1: signatures, algorithms and claims.
@Suite struct TokenVerifierTests {
    static let keys: [String: SigningKey] = ["RS256": TestKeys.rsa, "ES256": TestKeys.ec, "EdDSA": TestKeys.ed]

    @Test(arguments: ["RS256", "ES256", "EdDSA"])
    func acceptsAValidToken(_ algorithm: String) async throws {
        try await withProvider { provider, client in
            let key = try #require(Self.keys[algorithm])
            provider.publish([TestKeys.otherEC.jwk(kid: "other"), key.jwk(kid: "k-\(algorithm)")])
            let claims = validClaims(provider, ["aud": ["someone-else", .string(apiAudience)], "roles": ["importer"]])
            let token = try await key.sign(claims, kid: "k-\(algorithm)")
            let verified = try await makeVerifier(provider, client).verify(token)
            #expect(verified.issuer == provider.issuer)
            #expect(verified.subject == "alice")
            #expect(verified.audiences == ["someone-else", apiAudience])
            #expect(verified.expiresAt == provider.clock.now.addingTimeInterval(300))
            #expect(verified.claims["name"] == "Alice Example")
            #expect(verified.claims["roles"] == ["importer"])
        }
    }

    @Test func refusesAnExpiredTokenBeyondTheLeeway() async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client)
            let now = Int64(provider.clock.now.timeIntervalSince1970)
            let late = try await TestKeys.ec.sign(validClaims(provider, ["exp": .integer(now - 61)]), kid: "id-key")
            await expectRefusal(.expired) { try await verifier.verify(late) }
            let withinLeeway = try await TestKeys.ec.sign(validClaims(provider, ["exp": .integer(now - 30)]), kid: "id-key")
            #expect(try await verifier.verify(withinLeeway).subject == "alice")
            let noExpiry = try await TestKeys.ec.sign(validClaims(provider, ["exp": .null]), kid: "id-key")
            await expectRefusal(.malformed) { try await verifier.verify(noExpiry) }
            // A token that was valid becomes expired as the clock moves on.
            let current = try await TestKeys.ec.sign(validClaims(provider), kid: "id-key")
            _ = try await verifier.verify(current)
            provider.clock.advance(361)
            await expectRefusal(.expired) { try await verifier.verify(current) }
        }
    }

    @Test func refusesATokenNotYetValid() async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client)
            let now = Int64(provider.clock.now.timeIntervalSince1970)
            let early = try await TestKeys.ec.sign(validClaims(provider, ["nbf": .integer(now + 120)]), kid: "id-key")
            await expectRefusal(.notYetValid) { try await verifier.verify(early) }
            let issuedLater = try await TestKeys.ec.sign(validClaims(provider, ["iat": .integer(now + 120)]), kid: "id-key")
            await expectRefusal(.notYetValid) { try await verifier.verify(issuedLater) }
            let withinLeeway = try await TestKeys.ec.sign(validClaims(provider, ["nbf": .integer(now + 30)]), kid: "id-key")
            #expect(try await verifier.verify(withinLeeway).subject == "alice")
            provider.clock.advance(121)
            #expect(try await verifier.verify(early).subject == "alice")
        }
    }

    @Test func refusesAWrongAudienceOrIssuer() async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client)
            let otherAudience = try await TestKeys.ec.sign(validClaims(provider, ["aud": "another-api"]), kid: "id-key")
            await expectRefusal(.wrongAudience) { try await verifier.verify(otherAudience) }
            let noAudience = try await TestKeys.ec.sign(validClaims(provider, ["aud": .null]), kid: "id-key")
            await expectRefusal(.wrongAudience) { try await verifier.verify(noAudience) }
            let otherIssuer = try await TestKeys.ec.sign(validClaims(provider, ["iss": "https://evil.example"]), kid: "id-key")
            await expectRefusal(.wrongIssuer) { try await verifier.verify(otherIssuer) }
            let slashedIssuer = try await TestKeys.ec.sign(validClaims(provider, ["iss": .string(provider.issuer + "/")]), kid: "id-key")
            await expectRefusal(.wrongIssuer) { try await verifier.verify(slashedIssuer) }
            let noSubject = try await TestKeys.ec.sign(validClaims(provider, ["sub": .null]), kid: "id-key")
            await expectRefusal(.noSubject) { try await verifier.verify(noSubject) }
        }
    }

    @Test func checksTheNonceWhenGiven() async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client)
            let token = try await TestKeys.ec.sign(validClaims(provider, ["nonce": "n-1"]), kid: "id-key")
            #expect(try await verifier.verify(token, nonce: "n-1").subject == "alice")
            await expectRefusal(.wrongNonce) { try await verifier.verify(token, nonce: "n-2") }
            let withoutNonce = try await TestKeys.ec.sign(validClaims(provider), kid: "id-key")
            await expectRefusal(.wrongNonce) { try await verifier.verify(withoutNonce, nonce: "n-1") }
        }
    }

    @Test(arguments: ["none", "None", "NONE"])
    func refusesAnUnsignedToken(_ algorithm: String) async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client)
            let header: [String: JSONValue] = ["alg": .string(algorithm), "typ": "JWT", "kid": "id-key"]
            let unsigned = try handMadeToken(header: header, claims: validClaims(provider)) { _ in Data() }
            await expectRefusal(.algorithmNotAllowed) { try await verifier.verify(unsigned) }
            // Even an allow-list that names it does not let it through.
            let permissive = makeVerifier(provider, client, algorithms: ["none", "ES256"])
            await expectRefusal(.algorithmNotAllowed) { try await permissive.verify(unsigned) }
        }
    }

    @Test func refusesATamperedToken() async throws {
        try await withProvider { provider, client in
            provider.publish([TestKeys.rsa.jwk(kid: "rsa")])
            let verifier = makeVerifier(provider, client)
            let token = try await TestKeys.rsa.sign(validClaims(provider), kid: "rsa")
            #expect(try await verifier.verify(token).subject == "alice")
            var parts = token.split(separator: ".").map(String.init)
            let signature = Array(parts[2])
            let flipped = signature[10] == "A" ? "B" : "A"
            parts[2] = String(signature[..<10]) + flipped + String(signature[11...])
            await expectRefusal(.badSignature) { try await verifier.verify(parts.joined(separator: ".")) }
            // Another payload under the original signature.
            let forged = try handMadeToken(header: ["alg": "RS256", "kid": "rsa"], claims: validClaims(provider, ["sub": "mallory"])) { _ in
                Data()
            }
            let forgedParts = forged.split(separator: ".", omittingEmptySubsequences: false)
            let spliced = "\(forgedParts[0]).\(forgedParts[1]).\(token.split(separator: ".")[2])"
            await expectRefusal(.badSignature) { try await verifier.verify(spliced) }
            // Signed by a key that is not the one its kid names.
            let impostor = try await TestKeys.otherEC.sign(validClaims(provider), kid: "id-key")
            provider.publish([TestKeys.ec.jwk(kid: "id-key")])
            let fresh = makeVerifier(provider, client)
            await expectRefusal(.badSignature) { try await fresh.verify(impostor) }
        }
    }

    @Test func refusesAnHMACTokenKeyedWithThePublicKey() async throws {
        try await withProvider { provider, client in
            provider.publish([TestKeys.rsa.jwk(kid: "rsa", alg: .some(nil))])
            for secret in [TestKeys.rsa.publicKeyPEM, #"{"kty":"RSA"}"#] {
                let token = try handMadeToken(header: ["alg": "HS256", "typ": "JWT", "kid": "rsa"], claims: validClaims(provider)) {
                    input in
                    Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Data(secret.utf8))))
                }
                await expectRefusal(.algorithmNotAllowed) { try await makeVerifier(provider, client).verify(token) }
                let permissive = makeVerifier(provider, client, algorithms: ["HS256", "RS256"])
                await expectRefusal(.algorithmNotAllowed) { try await permissive.verify(token) }
            }
            #expect(provider.jwksFetches == 0)
        }
    }

    @Test func refusesAnAlgorithmOutsideTheAllowList() async throws {
        try await withProvider { provider, client in
            provider.publish([TestKeys.ed.jwk(kid: "ed")])
            let token = try await TestKeys.ed.sign(validClaims(provider), kid: "ed")
            await expectRefusal(.algorithmNotAllowed) { try await makeVerifier(provider, client, algorithms: ["RS256"]).verify(token) }
            #expect(try await makeVerifier(provider, client).verify(token).subject == "alice")
        }
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "!!.e30.", "e30.e30.sig", "eyJhbGciOiJFUzI1NiJ9..sig", "bm90IGpzb24.e30.c2ln"])
    func refusesAMalformedToken(_ token: String) async throws {
        try await withProvider { provider, client in
            await expectRefusal(.malformed) { try await makeVerifier(provider, client).verify(token) }
        }
    }
}
