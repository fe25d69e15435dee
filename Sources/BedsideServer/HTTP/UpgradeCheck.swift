import BedsideCore
import BedsideProtocol
import Hummingbird

/// What `/ws` requires of a request before it may upgrade: a valid `session_id`, an optional
/// non-negative `last_seq`, and an allowed `Origin`.
struct UpgradeCheck: Sendable {
    let origins: OriginPolicy

    struct Accepted: Sendable {
        var sessionID: SessionID
        var lastSeq: Int64?
    }

    func check(_ request: Request) throws(APIError) -> Accepted {
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
        return Accepted(sessionID: sessionID, lastSeq: lastSeq)
    }
}
