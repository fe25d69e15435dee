import Foundation

/// A FHIR R4 server reached over REST (Aidbox, HAPI, …) and how Bedside authenticates to it.
public struct FHIRServerConfiguration: Sendable, Hashable {
    public enum Authentication: Sendable, Hashable {
        case none
        /// A fixed bearer token.
        case bearer(String)
        /// OAuth 2 client credentials, exchanged at `tokenURL` for a bearer token (as Aidbox does).
        case clientCredentials(tokenURL: String, clientID: String, secret: String)
    }

    /// The base URL, e.g. `http://localhost:8080/fhir`, without a trailing slash.
    public var baseURL: String
    public var authentication: Authentication
    /// The longest wait for one request.
    public var timeout: Duration

    public init(baseURL: String, authentication: Authentication = .none, timeout: Duration = .seconds(15)) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.authentication = authentication
        self.timeout = timeout
    }

    /// The server named by `BEDSIDE_FHIR_URL`, with `BEDSIDE_FHIR_TOKEN`, or
    /// `BEDSIDE_FHIR_CLIENT_ID` / `BEDSIDE_FHIR_CLIENT_SECRET` / `BEDSIDE_FHIR_TOKEN_URL`; nil
    /// without a URL. Throws a message naming the missing variable.
    public static func fromEnvironment(_ environment: [String: String]) throws -> FHIRServerConfiguration? {
        func value(_ name: String) -> String? {
            guard let raw = environment[name], !raw.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            return raw.trimmingCharacters(in: .whitespaces)
        }
        guard let url = value("BEDSIDE_FHIR_URL") else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ConfigurationError(message: "BEDSIDE_FHIR_URL must be an http:// or https:// URL, not \(url)")
        }
        if let token = value("BEDSIDE_FHIR_TOKEN") {
            return FHIRServerConfiguration(baseURL: url, authentication: .bearer(token))
        }
        let clientID = value("BEDSIDE_FHIR_CLIENT_ID")
        let secret = value("BEDSIDE_FHIR_CLIENT_SECRET")
        switch (clientID, secret) {
        case (nil, nil):
            return FHIRServerConfiguration(baseURL: url)
        case (let clientID?, let secret?):
            guard let tokenURL = value("BEDSIDE_FHIR_TOKEN_URL") else {
                throw ConfigurationError(message: "Client credentials need BEDSIDE_FHIR_TOKEN_URL (Aidbox: https://HOST/auth/token)")
            }
            return FHIRServerConfiguration(
                baseURL: url,
                authentication: .clientCredentials(tokenURL: tokenURL, clientID: clientID, secret: secret)
            )
        case (nil, _):
            throw ConfigurationError(message: "BEDSIDE_FHIR_CLIENT_SECRET is set but BEDSIDE_FHIR_CLIENT_ID is not")
        case (_, nil):
            throw ConfigurationError(message: "BEDSIDE_FHIR_CLIENT_ID is set but BEDSIDE_FHIR_CLIENT_SECRET is not")
        }
    }

    /// A FHIR server configuration that cannot be used; the message names the variable to fix.
    public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
