/// The machine-readable `code` of an `error` event or a refused request (protocol.md, "Error codes").
public enum ErrorCode: String, Sendable, CaseIterable {
    case invalidJSON = "invalid_json"
    case invalidMessage = "invalid_message"
    case unsupportedFrame = "unsupported_frame"
    case frameTooLarge = "frame_too_large"
    case sessionMismatch = "session_mismatch"
    /// A turn is running or queued in the session: the `message` was not taken.
    case busy
    /// The server is shutting down gracefully: the `message` was not taken. Unlike after `busy`,
    /// the client keeps it and sends it again once it has reconnected.
    case shuttingDown = "shutting_down"
    case rateLimited = "rate_limited"
    case resumeGap = "resume_gap"
    case llmUnavailable = "llm_unavailable"
    case llmError = "llm_error"
    case toolError = "tool_error"
    case turnFailed = "turn_failed"
    case `internal`
    case invalidSessionID = "invalid_session_id"
    case originNotAllowed = "origin_not_allowed"
    case notFound = "not_found"
    case invalidPatientID = "invalid_patient_id"
    case clinicalDataUnavailable = "clinical_data_unavailable"
    /// No valid credential came with the request (HTTP 401).
    case unauthenticated
    /// The principal lacks the role the request needs (HTTP 403).
    case forbidden
    /// A sign-in with the OpenID provider did not complete (HTTP 400).
    case authFailed = "auth_failed"
    /// The request's `Host` is not one this server answers to (HTTP 421); see `--allowed-hosts`.
    case hostNotAllowed = "host_not_allowed"
    /// A connection limit (total, per client address or per session) is reached: the socket is
    /// closed with 4429 after this error, and `GET /ws` answers 429.
    case tooManyConnections = "too_many_connections"
    /// The principal (or client address) started its most turns this minute: the message is not
    /// stored; `retry_after_ms` says when one may be sent.
    case tooManyTurns = "too_many_turns"
    /// The event store cannot write. In a session's history (with a `seq`), it ends the running
    /// turn, which then ends `failed` with reason `store_unavailable`; as a connection-scoped
    /// reply (no `seq`) it refuses a `message`, which is not stored and may be sent again.
    case storeUnavailable = "store_unavailable"

    /// Whether the error answers one connection's own frame. Such errors go to that connection
    /// only, carry no `seq` and are not part of the session's history.
    public var isConnectionScoped: Bool {
        switch self {
        case .invalidJSON, .invalidMessage, .unsupportedFrame, .frameTooLarge, .sessionMismatch, .busy, .shuttingDown,
            .rateLimited, .resumeGap, .tooManyConnections, .tooManyTurns:
            true
        default:
            false
        }
    }
}

/// A client's frame was refused: the code and a message a person can act on.
public struct ProtocolViolation: Error, Sendable, Equatable {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}
