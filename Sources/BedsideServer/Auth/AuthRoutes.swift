import BedsideAuth
import BedsideCore
import BedsideProtocol
import Foundation
import Hummingbird
import Logging

/// Sign-in and sign-out (`/auth/*`), the caller's identity, API-key administration (`/keys`) and
/// the OAuth protected-resource metadata of `/mcp`.
struct AuthRoutes: Sendable {
    let authentication: Authentication
    let watch: CredentialWatch?
    let origins: OriginPolicy

    func add(to router: Router<BasicRequestContext>) {
        router.get("/auth/me") { request, _ in
            let caller = try await authentication.requireCaller(request)
            var json = JSONWriter()
            json.beginObject()
            json.key("principal")
            json.principal(caller.principal, lastSeen: nil, roles: true)
            json.member("method", caller.credential.method)
            json.member("expires_at", caller.credential.expiresAt.map { Timestamp(date: $0).iso8601 })
            json.endObject()
            return Response.json(json.text)
        }
        router.get("/auth/login") { request, _ in
            guard let oidc = authentication.oidc else { throw Self.noSignIn }
            let returnTo = Self.safeReturn(request.uri.queryParameters["return_to"].map(String.init))
            let url = try await oidc.startLogin(returnTo: returnTo)
            return Self.redirect(to: url)
        }
        router.get("/auth/callback") { request, context in
            guard let oidc = authentication.oidc, let database = authentication.database else { throw Self.noSignIn }
            let query = request.uri.queryParameters
            if let error = query["error"] {
                throw APIError(.badRequest, .authFailed, "The identity provider refused the sign-in (\(error)).")
            }
            guard let code = query["code"], let state = query["state"] else {
                throw APIError(.badRequest, .authFailed, "The sign-in callback lacks its code or state: sign in again.")
            }
            let result: OIDCLoginResult
            do {
                result = try await oidc.finishLogin(code: String(code), state: String(state))
            } catch {
                context.logger.info("A sign-in failed", metadata: ["error": "\(error)"])
                throw APIError(.badRequest, .authFailed, "The sign-in could not be completed: sign in again.")
            }
            let principal = authentication.roleMapping.principal(from: result.token)
            let now = authentication.clock()
            authentication.remember(principal, now: now)
            let (_, token) = try database.createWebSession(
                principal: principal,
                idToken: result.idToken,
                now: now,
                lifetime: authentication.sessionLifetime
            )
            var response = Self.redirect(to: Self.safeReturn(result.returnTo))
            response.headers[.setCookie] = cookie(value: token, maxAge: Int(authentication.sessionLifetime))
            return response
        }
        router.post("/auth/logout") { request, _ in
            try origins.check(request, to: "sign out")
            let logoutURL = try await signOut(request)
            var json = JSONWriter()
            json.beginObject()
            json.member("logout_url", logoutURL)
            json.endObject()
            var response = Response.json(json.text)
            response.headers[.setCookie] = cookie(value: "", maxAge: 0)
            return response
        }
        router.get("/auth/logout") { request, _ in
            let logoutURL = try await signOut(request)
            var response = Self.redirect(to: logoutURL ?? "/")
            response.headers[.setCookie] = cookie(value: "", maxAge: 0)
            return response
        }
        let metadata: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
            try protectedResourceMetadata()
        }
        router.get("/.well-known/oauth-protected-resource", use: metadata)
        router.get("/.well-known/oauth-protected-resource/mcp", use: metadata)

        router.get("/keys") { request, _ in
            _ = try await authentication.require(request, anyOf: [.admin])
            let keys = try keyDatabase().keys()
            var json = JSONWriter()
            json.beginObject()
            json.key("keys")
            json.beginArray()
            for key in keys { Self.write(key, into: &json, secret: nil) }
            json.endArray()
            json.endObject()
            return Response.json(json.text)
        }
        router.post("/keys") { request, _ in
            try origins.check(request, to: "create API keys")
            _ = try await authentication.require(request, anyOf: [.admin])
            // Before the body: with keys off this is 404, as on GET /keys.
            let database = try keyDatabase()
            var request = request
            let body = try await request.collectBody(upTo: 16 << 10)
            guard let object = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)).objectValue,
                let name = object["name"]?.stringValue,
                let role = object["role"]?.stringValue.flatMap(Role.init(rawValue:))
            else {
                throw APIError(
                    .badRequest,
                    .invalidMessage,
                    #"The body must be {"name": "…", "role": "clinician|importer|auditor|admin"}."#
                )
            }
            let created: (record: APIKeyRecord, secret: String)
            do {
                created = try database.createKey(name: name, role: role, now: authentication.clock())
            } catch let error as AuthDatabaseError {
                // A bad or taken name; a failing database stays a 500 with its detail in the log.
                throw APIError(.badRequest, .invalidMessage, error.description)
            }
            var json = JSONWriter()
            Self.write(created.record, into: &json, secret: created.secret)
            return Response.json(json.text, status: .created)
        }
        router.delete("/keys/:id") { request, context in
            try origins.check(request, to: "revoke API keys")
            _ = try await authentication.require(request, anyOf: [.admin])
            let id = context.parameters.get("id") ?? ""
            guard let revoked = try keyDatabase().revokeKey(id, now: authentication.clock()) else {
                throw APIError(.notFound, .notFound, "There is no such API key.")
            }
            watch?.end(apiKey: revoked.id)
            return Response(status: .noContent)
        }
    }

    // MARK: Parts

    static let noSignIn = APIError(.notFound, .notFound, "Sign-in is not configured on this server (--auth oidc).")

    private func keyDatabase() throws(APIError) -> AuthDatabase {
        guard authentication.modes.contains(.keys), let database = authentication.database else {
            throw APIError(.notFound, .notFound, "API keys are not enabled on this server (--auth keys).")
        }
        return database
    }

    /// Ends the caller's sign-in session (its sockets close with 4401 `signed_out`); the
    /// provider's logout URL when it has one.
    private func signOut(_ request: Request) async throws -> String? {
        guard let database = authentication.database,
            let token = Authentication.cookie(named: authentication.cookieName, in: request),
            let record = try database.webSession(
                token: token,
                now: authentication.clock(),
                idleTimeout: .greatestFiniteMagnitude
            )
        else { return nil }
        try database.revokeWebSession(id: record.id, now: authentication.clock())
        watch?.end(webSession: record.id, reason: .signedOut)
        let home = (authentication.publicURL ?? "") + "/"
        return await authentication.oidc?.logoutURL(idToken: record.idToken, postLogoutRedirectURI: home)
    }

    /// The sign-in cookie: HttpOnly, SameSite=Lax, Path=/, Secure under https.
    private func cookie(value: String, maxAge: Int) -> String {
        var cookie = "\(authentication.cookieName)=\(value); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(maxAge)"
        if authentication.secureCookies { cookie += "; Secure" }
        return cookie
    }

    /// RFC 9728 metadata: which authorization server issues the bearer tokens `/mcp` takes.
    private func protectedResourceMetadata() throws -> Response {
        guard authentication.isEnabled else {
            throw APIError(.notFound, .notFound, "This server does not require authorization (--auth none).")
        }
        var json = JSONWriter()
        json.beginObject()
        json.member("resource", (authentication.publicURL ?? "") + "/mcp")
        json.key("authorization_servers")
        json.beginArray()
        if let issuer = authentication.issuer { json.string(issuer) }
        json.endArray()
        json.key("bearer_methods_supported")
        json.beginArray()
        json.string("header")
        json.endArray()
        json.member("resource_name", "Bedside")
        json.endObject()
        return Response.json(json.text)
    }

    /// A relative path on this server, or `/`: never a redirect to another site.
    static func safeReturn(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.contains("\\"),
            raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f })
        else { return "/" }
        return raw
    }

    static func redirect(to location: String) -> Response {
        Response(status: .found, headers: [.location: location, .cacheControl: "no-store"])
    }

    private static func write(_ key: APIKeyRecord, into json: inout JSONWriter, secret: String?) {
        json.beginObject()
        json.member("id", key.id)
        json.member("name", key.name)
        json.member("role", key.role.rawValue)
        json.member("created", Timestamp(date: key.createdAt).iso8601)
        json.member("revoked", key.revokedAt.map { Timestamp(date: $0).iso8601 })
        json.member("last_used", key.lastUsedAt.map { Timestamp(date: $0).iso8601 })
        if let secret { json.member("key", secret) }
        json.endObject()
    }
}
