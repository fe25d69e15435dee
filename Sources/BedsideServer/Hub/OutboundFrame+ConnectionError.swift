import BedsideCore
import BedsideProtocol

extension OutboundFrame {
    /// A connection-scoped `error` frame (no seq; not part of the session's history).
    static func connectionError(
        _ code: ErrorCode,
        _ message: String,
        session: SessionID,
        retryAfterMilliseconds: Int64? = nil
    ) -> OutboundFrame {
        .event(seq: nil, text: connectionErrorText(code, message, session: session, retryAfterMilliseconds: retryAfterMilliseconds))
    }

    /// The JSON text of a connection-scoped `error` frame.
    static func connectionErrorText(
        _ code: ErrorCode,
        _ message: String,
        session: SessionID,
        retryAfterMilliseconds: Int64? = nil
    ) -> String {
        ServerEvent(
            sessionID: session,
            seq: nil,
            timestamp: .now(),
            payload: .error(code: code, message: message, retryAfterMilliseconds: retryAfterMilliseconds)
        ).json
    }
}
