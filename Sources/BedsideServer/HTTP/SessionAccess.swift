import BedsideAuth
import BedsideCore
import BedsideProtocol
import Hummingbird

/// The one place every route finds a session with its owner.
///
/// A session id from a URL names the caller's own session of that id: sessions are namespaced
/// by principal, so another principal's session of the same id is never reached, and nothing
/// about it (not even whether it exists) shows. Only routes under `/principals/{key}/…` reach
/// another principal's sessions, and only for the auditor and admin roles.
struct SessionAccess: Sendable {
    let authentication: Authentication

    /// The caller and the caller's session named by the `id` path parameter.
    func own(_ request: Request, _ context: BasicRequestContext) async throws(APIError) -> (Caller, SessionID) {
        let caller = try await authentication.requireCaller(request)
        return (caller, try Self.session(context.parameters.get("id"), owner: caller.principal.key))
    }

    /// The caller's own session of a raw id (the socket's `session_id`).
    func own(_ raw: SessionID, caller: Caller) throws(APIError) -> SessionID {
        try Self.session(raw.rawValue, owner: caller.principal.key)
    }

    /// An auditor's or admin's view of the session `id` of the principal `principal` (path parameters).
    func named(_ request: Request, _ context: BasicRequestContext) async throws(APIError) -> (Caller, SessionID) {
        let caller = try await authentication.require(request, anyOf: [.auditor, .admin])
        let owner = try Self.owner(context)
        return (caller, try Self.session(context.parameters.get("id"), owner: owner))
    }

    /// The `principal` path parameter, for auditor and admin routes.
    static func owner(_ context: BasicRequestContext) throws(APIError) -> String {
        guard let owner = context.parameters.get("principal"), Self.isOwnerKey(owner) else {
            throw APIError(.badRequest, .invalidMessage, "The principal must be a key as GET /principals lists them.")
        }
        return owner
    }

    /// `local`, or 32 lowercase hex digits.
    static func isOwnerKey(_ text: String) -> Bool {
        text == SessionID.localOwner
            || (text.utf8.count == 32 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) })
    }

    private static func session(_ raw: String?, owner: String) throws(APIError) -> SessionID {
        guard let raw, let session = SessionID(raw, owner: owner) else {
            throw APIError(
                .badRequest,
                .invalidSessionID,
                "The session id must be 8 to 128 characters of A-Z, a-z, 0-9, '_' or '-'."
            )
        }
        return session
    }
}
