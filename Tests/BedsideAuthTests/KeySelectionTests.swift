import BedsideAuth
import BedsideCore
import Foundation
import Testing

/// Which key of the JWKS verifies a token, and when the JWKS is fetched again.
@Suite struct KeySelectionTests {
    @Test func anUnknownKidRefetchesOncePerInterval() async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client)
            let known = try await TestKeys.ec.sign(validClaims(provider), kid: "id-key")
            #expect(try await verifier.verify(known).subject == "alice")
            #expect(provider.jwksFetches == 1)
            let stranger = try await TestKeys.otherEC.sign(validClaims(provider), kid: "unknown-1")
            await expectRefusal(.unknownKey) { try await verifier.verify(stranger) }
            #expect(provider.jwksFetches == 2)
            // Within the refetch interval, another unknown kid fetches nothing.
            provider.clock.advance(30)
            let another = try await TestKeys.otherEC.sign(validClaims(provider), kid: "unknown-2")
            await expectRefusal(.unknownKey) { try await verifier.verify(another) }
            await expectRefusal(.unknownKey) { try await verifier.verify(stranger) }
            #expect(provider.jwksFetches == 2)
            #expect(try await verifier.verify(known).subject == "alice")
            #expect(provider.jwksFetches == 2)
            // Once the interval has passed, one more refetch.
            provider.clock.advance(31)
            let later = try await TestKeys.otherEC.sign(validClaims(provider), kid: "unknown-3")
            await expectRefusal(.unknownKey) { try await verifier.verify(later) }
            #expect(provider.jwksFetches == 3)
        }
    }

    @Test func concurrentUnknownKidsShareOneRefetch() async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client)
            _ = try await verifier.verify(try await TestKeys.ec.sign(validClaims(provider), kid: "id-key"))
            provider.publish([TestKeys.ec.jwk(kid: "id-key"), TestKeys.otherEC.jwk(kid: "new-key")])
            let token = try await TestKeys.otherEC.sign(validClaims(provider), kid: "new-key")
            let subjects = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 { group.addTask { try await verifier.verify(token).subject } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(subjects == Array(repeating: "alice", count: 8))
            #expect(provider.jwksFetches == 2)
        }
    }

    @Test func aRotatedKeyIsFetchedAndAccepted() async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client)
            let old = try await TestKeys.ec.sign(validClaims(provider), kid: "id-key")
            #expect(try await verifier.verify(old).subject == "alice")
            provider.publish([TestKeys.ed.jwk(kid: "rotated")])
            let new = try await TestKeys.ed.sign(validClaims(provider), kid: "rotated")
            #expect(try await verifier.verify(new).subject == "alice")
            #expect(provider.jwksFetches == 2)
            // The withdrawn key no longer verifies: the set in hand is the new one.
            await expectRefusal(.unknownKey) { try await verifier.verify(old) }
            #expect(provider.jwksFetches == 2)
        }
    }

    @Test func theKeySetIsFetchedAgainWhenItsLifetimeEnds() async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client)
            _ = try await verifier.verify(try await TestKeys.ec.sign(validClaims(provider), kid: "id-key"))
            provider.clock.advance(3599)
            _ = try await verifier.verify(try await TestKeys.ec.sign(validClaims(provider), kid: "id-key"))
            #expect(provider.jwksFetches == 1)
            provider.clock.advance(2)
            provider.publish([TestKeys.otherEC.jwk(kid: "id-key")])
            let stale = try await TestKeys.ec.sign(validClaims(provider), kid: "id-key")
            await expectRefusal(.badSignature) { try await verifier.verify(stale) }
            #expect(provider.jwksFetches == 2)
        }
    }

    @Test func aTokenWithoutKidNeedsASingleUsableKey() async throws {
        try await withProvider { provider, client in
            provider.publish([TestKeys.ec.jwk(kid: "a"), TestKeys.otherEC.jwk(kid: "b")])
            let token = try await TestKeys.ec.sign(validClaims(provider), kid: nil)
            await expectRefusal(.missingKeyID) { try await makeVerifier(provider, client).verify(token) }
            // An encryption key and a symmetric key do not count.
            provider.publish([
                TestKeys.ec.jwk(kid: "a"), TestKeys.otherEC.jwk(kid: "b", use: "enc"),
                .object(["kty": "oct", "kid": "c", "k": "c2VjcmV0"]),
            ])
            #expect(try await makeVerifier(provider, client).verify(token).subject == "alice")
            provider.publish([TestKeys.ec.jwk(kid: nil, alg: .some(nil), use: nil)])
            #expect(try await makeVerifier(provider, client).verify(token).subject == "alice")
        }
    }

    @Test func theKeysOwnAlgorithmMustMatchTheTokens() async throws {
        try await withProvider { provider, client in
            provider.publish([TestKeys.rsa.jwk(kid: "rsa", alg: "PS256"), TestKeys.ec.jwk(kid: "ec", alg: .some(nil))])
            let rsaToken = try await TestKeys.rsa.sign(validClaims(provider), kid: "rsa")
            await expectRefusal(.algorithmNotAllowed) { try await makeVerifier(provider, client).verify(rsaToken) }
            // A key without alg still fits only its own type: an EdDSA token naming the EC key.
            let edToken = try await TestKeys.ed.sign(validClaims(provider), kid: "ec")
            await expectRefusal(.algorithmNotAllowed) { try await makeVerifier(provider, client).verify(edToken) }
            let ecToken = try await TestKeys.ec.sign(validClaims(provider), kid: "ec")
            #expect(try await makeVerifier(provider, client).verify(ecToken).subject == "alice")
        }
    }

    @Test func keysOfOtherTypesDoNotSpoilTheSet() async throws {
        try await withProvider { provider, client in
            provider.publish([
                .object(["kty": "RSA", "kid": "enc", "use": "enc", "alg": "RSA-OAEP-256", "n": "AQAB", "e": "AQAB"]),
                .object(["kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"]),
                "not a key",
                TestKeys.rsa.jwk(kid: "rsa"),
            ])
            let token = try await TestKeys.rsa.sign(validClaims(provider), kid: "rsa")
            #expect(try await makeVerifier(provider, client).verify(token).subject == "alice")
            let broken = try await TestKeys.ec.sign(validClaims(provider), kid: "p384")
            await expectRefusal(.algorithmNotAllowed) { try await makeVerifier(provider, client).verify(broken) }
        }
    }

    @Test func theJWKSLocationComesFromDiscovery() async throws {
        try await withProvider { provider, client in
            let verifier = makeVerifier(provider, client, discover: true)
            let token = try await TestKeys.ec.sign(validClaims(provider), kid: "id-key")
            #expect(try await verifier.verify(token).subject == "alice")
            #expect(try await verifier.verify(token).subject == "alice")
            #expect(provider.discoveryFetches == 1)
            #expect(provider.jwksFetches == 1)
        }
    }

    @Test func anUnreachableJWKSIsReportedAsSuch() async throws {
        try await withProvider { provider, client in
            let token = try await TestKeys.ec.sign(validClaims(provider), kid: "id-key")
            let missing = makeVerifier(provider, client, jwksURL: provider.issuer + "/no-such-jwks")
            await expectRefusal(.jwksUnavailable) { try await missing.verify(token) }
            provider.update { $0.advertisedIssuer = "https://elsewhere.example" }
            await expectRefusal(.jwksUnavailable) { try await makeVerifier(provider, client, discover: true).verify(token) }
            provider.update { $0.advertisedIssuer = nil }
            let notJSON = makeVerifier(provider, client, jwksURL: provider.issuer + "/.well-known/openid-configuration")
            await expectRefusal(.jwksUnavailable) { try await notJSON.verify(token) }
        }
    }
}
