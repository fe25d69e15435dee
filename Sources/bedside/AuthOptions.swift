import ArgumentParser
import AsyncHTTPClient
import BedsideAuth
import BedsideServer
import Foundation
import NIOSSL

/// The identity options: `--auth` and what each mode needs, API keys' database, TLS.
struct AuthOptions: ParsableArguments {
    @Option(help: "Who may use Bedside: none, or oidc, jwt and keys, comma-separated. [env: BEDSIDE_AUTH] (default: none)")
    var auth: String?

    @Flag(help: "Allow --auth none on an interface other than loopback (prints a warning). [env: BEDSIDE_ALLOW_UNAUTHENTICATED=1]")
    var allowUnauthenticated = false

    @Option(help: "OpenID issuer URL for browser sign-in (its discovery document is read). [env: BEDSIDE_OIDC_ISSUER]")
    var oidcIssuer: String?

    @Option(help: "OpenID client id; the secret comes from BEDSIDE_OIDC_CLIENT_SECRET only. [env: BEDSIDE_OIDC_CLIENT_ID]")
    var oidcClientId: String?

    @Option(help: "Scopes asked at sign-in, space-separated. [env: BEDSIDE_OIDC_SCOPES] (default: openid profile email)")
    var oidcScopes: String?

    @Option(help: "The URL users reach Bedside at; the sign-in redirect is <url>/auth/callback. [env: BEDSIDE_PUBLIC_URL]")
    var publicUrl: String?

    @Option(help: "Issuer of bearer JWTs (default with oidc: the OpenID issuer). [env: BEDSIDE_JWT_ISSUER]")
    var jwtIssuer: String?

    @Option(help: "Audience bearer JWTs must name (default with oidc: the client id). [env: BEDSIDE_JWT_AUDIENCE]")
    var jwtAudience: String?

    @Option(help: "JWKS URL of the JWT issuer (default: from its discovery document). [env: BEDSIDE_JWT_JWKS_URL]")
    var jwtJwksUrl: String?

    @Option(help: "Claim holding a principal's roles. [env: BEDSIDE_ROLES_CLAIM] (default: roles)")
    var rolesClaim: String?

    @Option(help: "Role when the claim names none: clinician, importer, auditor or admin. [env: BEDSIDE_DEFAULT_ROLE] (default: clinician)")
    var defaultRole: String?

    @Option(help: "Bearer token that may read /metrics besides the admin role. [env: BEDSIDE_METRICS_TOKEN]")
    var metricsToken: String?

    @Option(
        help: "SQLite file for API keys, sign-in sessions and principals. [env: BEDSIDE_AUTH_DATABASE] (default: ./bedside-auth.sqlite)"
    )
    var authDatabase: String?

    @Option(help: "Seconds a sign-in session may go unused. [env: BEDSIDE_SESSION_IDLE_TIMEOUT] (default: 1800)")
    var sessionIdleTimeout: Int?

    @Option(help: "Seconds a sign-in session lasts at most. [env: BEDSIDE_SESSION_LIFETIME] (default: 43200)")
    var sessionLifetime: Int?

    @Option(help: "PEM certificate chain: serve HTTPS and wss:// with it. [env: BEDSIDE_TLS_CERT]")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert. [env: BEDSIDE_TLS_KEY]")
    var tlsKey: String?

    /// The resolved identity settings.
    struct Settings {
        var modes: Set<Authentication.Mode> = [.none]
        var allowUnauthenticated = false
        var oidc: OIDCClientConfiguration?
        var bearer: TokenVerifierConfiguration?
        var roleMapping = RoleMapping()
        var metricsToken: String?
        var databasePath = "./bedside-auth.sqlite"
        var idleTimeout: TimeInterval = 1800
        var lifetime: TimeInterval = 43_200
        var publicURL: String?
        var tlsCertificate: String?
        var tlsKey: String?
        /// The warning `/ready` and the start-up output show, if any.
        var warning: String?

        var isEnabled: Bool { !modes.contains(.none) }
    }

    func resolve(environment: [String: String], host: String) throws -> Settings {
        var settings = Settings()
        let value = { (flag: String?, name: String) -> String? in
            (flag ?? environment[name]).flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        }
        settings.databasePath = value(authDatabase, "BEDSIDE_AUTH_DATABASE") ?? settings.databasePath
        if let raw = value(auth, "BEDSIDE_AUTH") {
            var modes = Set<Authentication.Mode>()
            for name in raw.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
                guard let mode = Authentication.Mode(rawValue: name) else {
                    throw ValidationError("Unknown auth mode '\(name)': use none, or oidc, jwt and keys.")
                }
                modes.insert(mode)
            }
            guard !(modes.contains(.none) && modes.count > 1) else {
                throw ValidationError("--auth none cannot be combined with other modes.")
            }
            settings.modes = modes.isEmpty ? [.none] : modes
        }
        settings.allowUnauthenticated =
            allowUnauthenticated || ["1", "true", "yes", "on"].contains(environment["BEDSIDE_ALLOW_UNAUTHENTICATED"]?.lowercased() ?? "")
        settings.publicURL = value(publicUrl, "BEDSIDE_PUBLIC_URL").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        if let url = settings.publicURL {
            let lowered = url.lowercased()
            guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
                throw ValidationError("--public-url must be an http(s) URL, not '\(url)'.")
            }
        }
        settings.tlsCertificate = value(tlsCert, "BEDSIDE_TLS_CERT")
        settings.tlsKey = value(tlsKey, "BEDSIDE_TLS_KEY")
        guard (settings.tlsCertificate == nil) == (settings.tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together: give both or neither.")
        }
        if settings.modes == [.none] {
            if !Self.isLoopback(host) {
                guard settings.allowUnauthenticated else {
                    throw ValidationError(
                        """
                        Bedside would let anyone who reaches \(host) read and continue every conversation: \
                        configure sign-in with --auth oidc (or jwt, keys; see the README's "Deploying for a team"), \
                        or pass --allow-unauthenticated to accept that.
                        """
                    )
                }
                settings.warning = "No authentication on \(host) (--allow-unauthenticated): anyone who reaches it can read every session."
            }
            return settings
        }
        try resolveIdentity(into: &settings, value: value, environment: environment)
        return settings
    }

    private func resolveIdentity(
        into settings: inout Settings,
        value: (String?, String) -> String?,
        environment: [String: String]
    ) throws {
        if settings.modes.contains(.oidc) {
            guard let issuer = value(oidcIssuer, "BEDSIDE_OIDC_ISSUER"),
                let clientID = value(oidcClientId, "BEDSIDE_OIDC_CLIENT_ID")
            else { throw ValidationError("--auth oidc needs --oidc-issuer and --oidc-client-id.") }
            guard let publicURL = settings.publicURL else {
                throw ValidationError("--auth oidc needs --public-url: the sign-in redirect is <public-url>/auth/callback.")
            }
            var oidc = OIDCClientConfiguration(
                issuer: issuer,
                clientID: clientID,
                clientSecret: environment["BEDSIDE_OIDC_CLIENT_SECRET"].flatMap { $0.isEmpty ? nil : $0 },
                redirectURI: publicURL + "/auth/callback"
            )
            if let scopes = value(oidcScopes, "BEDSIDE_OIDC_SCOPES") {
                oidc.scopes = scopes.split(separator: " ").map(String.init)
            }
            settings.oidc = oidc
        }
        let jwtIssuerValue = value(jwtIssuer, "BEDSIDE_JWT_ISSUER") ?? settings.oidc?.issuer
        let jwtAudienceValue = value(jwtAudience, "BEDSIDE_JWT_AUDIENCE") ?? settings.oidc?.clientID
        if settings.modes.contains(.jwt) {
            guard jwtIssuerValue != nil, jwtAudienceValue != nil else {
                throw ValidationError("--auth jwt needs --jwt-issuer and --jwt-audience.")
            }
        }
        if let issuer = jwtIssuerValue, let audience = jwtAudienceValue,
            settings.modes.contains(.jwt) || settings.modes.contains(.oidc)
        {
            // An MCP client asks for a token bound to the resource it calls (RFC 8707, as the MCP
            // authorization specification requires): `<public-url>/mcp` is an audience too.
            var audiences = [audience]
            if let resource = settings.publicURL.map({ $0 + "/mcp" }), resource != audience { audiences.append(resource) }
            settings.bearer = TokenVerifierConfiguration(
                issuer: issuer,
                audiences: audiences,
                jwksURL: value(jwtJwksUrl, "BEDSIDE_JWT_JWKS_URL")
            )
        }
        var mapping = RoleMapping()
        if let claim = value(rolesClaim, "BEDSIDE_ROLES_CLAIM") { mapping.claim = claim }
        if let raw = value(defaultRole, "BEDSIDE_DEFAULT_ROLE") {
            guard let role = Role(rawValue: raw.lowercased()) else {
                throw ValidationError("--default-role must be clinician, importer, auditor or admin, not '\(raw)'.")
            }
            mapping.defaultRole = role
        }
        settings.roleMapping = mapping
        settings.metricsToken = value(metricsToken, "BEDSIDE_METRICS_TOKEN")
        if let idle = try EnvironmentValue.integer(sessionIdleTimeout, "BEDSIDE_SESSION_IDLE_TIMEOUT", environment, minimum: 1) {
            settings.idleTimeout = TimeInterval(idle)
        }
        if let lifetime = try EnvironmentValue.integer(sessionLifetime, "BEDSIDE_SESSION_LIFETIME", environment, minimum: 1) {
            settings.lifetime = TimeInterval(lifetime)
        }
    }

    /// Whether `host` is a loopback interface (127.0.0.0/8, ::1, localhost).
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

extension AuthOptions.Settings {
    /// The server's ``Authentication``: opens the auth database and makes the verifiers.
    func makeAuthentication() throws -> Authentication {
        guard isEnabled else { return .none }
        let database = try AuthDatabase(path: databasePath)
        let client = HTTPClient.shared
        return Authentication(
            modes: modes,
            oidc: oidc.map { OIDCClient(configuration: $0, httpClient: client) },
            bearer: bearer.map { TokenVerifier(configuration: $0, httpClient: client) },
            database: database,
            roleMapping: roleMapping,
            metricsToken: metricsToken,
            publicURL: publicURL,
            issuer: oidc?.issuer ?? bearer?.issuer,
            secureCookies: tlsCertificate != nil || publicURL?.lowercased().hasPrefix("https://") == true,
            idleTimeout: idleTimeout,
            sessionLifetime: lifetime
        )
    }

    /// The TLS configuration of `--tls-cert` and `--tls-key`, or nil.
    func makeTLS() throws -> TLSConfiguration? {
        guard let tlsCertificate, let tlsKey else { return nil }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tlsCertificate).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tlsKey, format: .pem)
            let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            _ = try NIOSSLContext(configuration: configuration)
            return configuration
        } catch {
            throw ValidationError("Cannot use --tls-cert \(tlsCertificate) and --tls-key \(tlsKey): \(error)")
        }
    }
}
