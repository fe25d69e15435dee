import BedsideAuth
import BedsideCore
import BedsideProtocol
import Hummingbird

/// What `/ws` requires of a request before it may upgrade: a valid `session_id`, an optional
/// non-negative `last_seq`, an allowed `Origin`, and a credential whose principal may chat
/// (clinician or admin). The session is the caller's own session of that id. (The `Host` is
/// checked before, by the ``HostCheckMiddleware`` of both routers.)
///
/// The connection limits are not part of it: an upgrade over a limit is accepted and then told
/// why it closes (``ConnectionHandler``); only the plain `GET /ws` reports them (429).
struct UpgradeCheck: Sendable {
    let origins: OriginPolicy
    let authentication: Authentication
    var clients = ClientAddressResolver(trustedProxies: [])
    var connections: ConnectionLimiter?

    struct Accepted: Sendable {
        var sessionID: SessionID
        var lastSeq: Int64?
        var credential: Credential
        /// The client address (``ClientAddressResolver``).
        var address: String
        /// Whose turn budget the connection's messages use: the principal's key when signed
        /// in, else (with `--auth none`, where everyone is `local`) the client address.
        var rateKey: String
    }

    func check(_ request: Request) async throws(APIError) -> Accepted {
        let (raw, lastSeq) = try checkQueryAndOrigin(request)
        let caller = try await authentication.require(request, anyOf: [.clinician])
        guard let session = raw.owned(by: caller.principal.key) else {
            throw APIError(.badRequest, .invalidSessionID, "session_id is not valid.")
        }
        let address = clients.clientAddress(of: request)
        return Accepted(
            sessionID: session,
            lastSeq: lastSeq,
            credential: caller.credential,
            address: address,
            rateKey: caller.credential == .local ? address : caller.principal.key
        )
    }

    /// What a plain `GET /ws` reports: throws the refusal an upgrade would meet, including a
    /// connection limit (429 `too_many_connections`); returns when an upgrade would be served.
    func diagnose(_ request: Request) async throws(APIError) {
        let accepted = try await check(request)
        if let refusal = connections?.wouldRefuse(address: accepted.address, session: accepted.sessionID) {
            throw APIError(.tooManyRequests, .tooManyConnections, refusal.message)
        }
    }

    private func checkQueryAndOrigin(_ request: Request) throws(APIError) -> (SessionID, Int64?) {
        let query = request.uri.queryParameters
        guard let raw = query["session_id"] else {
            throw APIError(.badRequest, .invalidSessionID, "The query parameter session_id is missing.")
        }
        guard let sessionID = SessionID(raw) else {
            throw APIError(
                .badRequest,
                .invalidSessionID,
                "session_id must be 8 to 128 characters of A-Z, a-z, 0-9, '_' or '-'."
            )
        }
        var lastSeq: Int64?
        if let rawSeq = query["last_seq"] {
            guard let value = Int64(rawSeq), value >= 0 else {
                throw APIError(.badRequest, .invalidMessage, "last_seq must be a non-negative integer.")
            }
            lastSeq = value
        }
        try origins.check(request, to: "open a session")
        return (sessionID, lastSeq)
    }
}
