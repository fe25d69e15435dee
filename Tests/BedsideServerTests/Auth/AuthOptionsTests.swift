import ArgumentParser
import BedsideAuth
import BedsideServer
import Foundation
import Testing

@testable import bedside

/// How the executable reads `--auth` and what each mode needs; a server on a network interface
/// without sign-in refuses to start.
@Suite struct AuthOptionsTests {
    private func refusal(_ arguments: [String], _ environment: [String: String] = [:]) -> String? {
        do {
            _ = try Options.parse(arguments).resolve(environment: environment)
            return nil
        } catch let error as ValidationError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func noOptionsMeansTheLocalUserOnLoopback() throws {
        let settings = try Options.parse([]).resolve(environment: [:])
        #expect(settings.auth.modes == [.none] && settings.auth.warning == nil)
        #expect(try settings.auth.makeAuthentication().isEnabled == false)
    }

    @Test func noAuthenticationOnANetworkInterfaceRefusesToStartUnlessAllowed() throws {
        for host in ["0.0.0.0", "192.0.2.10", "::", "127.0.0.1.example.org"] {
            let message = try #require(refusal(["--host", host]), "\(host) was accepted without auth")
            #expect(message.contains("--auth oidc") && message.contains("--allow-unauthenticated"), "\(message)")
        }
        for host in ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]"] {
            #expect(refusal(["--host", host]) == nil, "\(host) is loopback")
        }
        let allowed = try Options.parse(["--host", "0.0.0.0", "--allow-unauthenticated"]).resolve(environment: [:])
        #expect(allowed.auth.warning?.contains("0.0.0.0") == true)
        let byEnvironment = try Options.parse([]).resolve(
            environment: ["BEDSIDE_HOST": "0.0.0.0", "BEDSIDE_ALLOW_UNAUTHENTICATED": "1"]
        )
        #expect(byEnvironment.auth.warning != nil)
        #expect(refusal([], ["BEDSIDE_HOST": "0.0.0.0"]) != nil)
    }

    @Test func eachModeSaysWhatItNeeds() throws {
        #expect(refusal(["--auth", "oidc"])?.contains("--oidc-issuer") == true)
        #expect(
            refusal(["--auth", "oidc", "--oidc-issuer", "https://id.example.org", "--oidc-client-id", "b"])?
                .contains("--public-url") == true
        )
        #expect(refusal(["--auth", "jwt"])?.contains("--jwt-issuer") == true)
        #expect(refusal(["--auth", "none,keys"])?.contains("cannot be combined") == true)
        #expect(refusal(["--auth", "saml"])?.contains("Unknown auth mode") == true)
        #expect(refusal(["--auth", "keys", "--default-role", "root"])?.contains("--default-role") == true)
        #expect(refusal(["--tls-cert", "a.pem"])?.contains("--tls-key") == true)
        let oidc = try Options.parse([
            "--host", "0.0.0.0", "--auth", "oidc,keys", "--oidc-issuer", "https://id.example.org/realms/r",
            "--oidc-client-id", "bedside", "--public-url", "https://bedside.example.org/", "--roles-claim", "realm_access.roles",
        ]).resolve(environment: ["BEDSIDE_OIDC_CLIENT_SECRET": "s3cret"])
        #expect(oidc.auth.modes == [.oidc, .keys])
        #expect(oidc.auth.oidc?.redirectURI == "https://bedside.example.org/auth/callback")
        #expect(oidc.auth.oidc?.clientSecret == "s3cret")
        #expect(
            oidc.auth.bearer?.issuer == "https://id.example.org/realms/r"
                && oidc.auth.bearer?.audiences == ["bedside", "https://bedside.example.org/mcp"]
        )
        #expect(oidc.auth.roleMapping.claim == "realm_access.roles")
    }

    @Test func aBadCertificateIsRefusedAtStart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cert = directory.path + "/cert.pem"
        try "not a certificate".write(toFile: cert, atomically: true, encoding: .utf8)
        let settings = try Options.parse(["--tls-cert", cert, "--tls-key", cert]).resolve(environment: [:])
        #expect(throws: ValidationError.self) { _ = try settings.auth.makeTLS() }
    }
}
