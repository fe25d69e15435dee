public import BedsideCore

/// A server → client event (protocol.md, "Server → client"): the common fields plus a payload.
///
/// An event is encoded once, by ``json``; the session hub persists and sends that same text.
public struct ServerEvent: Sendable, Equatable {
    /// The session the event belongs to.
    public var sessionID: SessionID
    /// The position in the session's history; nil for `connection` and connection-scoped errors.
    public var seq: Int64?
    /// When the event was emitted.
    public var timestamp: Timestamp
    /// The turn the event belongs to, if any.
    public var turnID: String?
    /// W3C trace id (32 hex digits) of the span the event belongs to, if any.
    public var traceID: String?
    /// W3C span id (16 hex digits) of the span the event belongs to, if any.
    public var spanID: String?
    /// The type-specific part.
    public var payload: EventPayload

    public init(
        sessionID: SessionID,
        seq: Int64?,
        timestamp: Timestamp,
        turnID: String? = nil,
        traceID: String? = nil,
        spanID: String? = nil,
        payload: EventPayload
    ) {
        self.sessionID = sessionID
        self.seq = seq
        self.timestamp = timestamp
        self.turnID = turnID
        self.traceID = traceID
        self.spanID = spanID
        self.payload = payload
    }

    /// The wire `type`.
    public var type: String { payload.type }

    /// The event as compact JSON text, with `type` first and the common fields before the payload's.
    public var json: String {
        var writer = JSONWriter(capacity: 160 + payload.estimatedSize)
        writer.beginObject()
        writer.member("type", payload.type)
        writer.member("session_id", sessionID.rawValue)
        if let seq { writer.member("seq", seq) }
        writer.member("timestamp", timestamp.iso8601)
        if let turnID { writer.member("turn_id", turnID) }
        if let traceID { writer.member("trace_id", traceID) }
        if let spanID { writer.member("span_id", spanID) }
        payload.write(into: &writer)
        writer.endObject()
        return writer.text
    }

    /// The event as the store keeps it. Only events with a `seq` belong in the store.
    public func stored(json: String) -> StoredEvent {
        var clientMessageID: String?
        var turnStatus: String?
        var userContent: String?
        switch payload {
        case .user(let content, let id):
            clientMessageID = id
            userContent = content
        case .turn(let turn): turnStatus = turn.status.rawValue
        // A queued turn is under way from this event on: the store counts it and keeps it open
        // until its end (so a restart ends it as interrupted). The session stores the `started`
        // that may follow without a turn status, so that the turn is not counted twice.
        case .queued: turnStatus = TurnEvent.Status.started.rawValue
        default: break
        }
        return StoredEvent(
            sessionID: sessionID,
            seq: seq ?? 0,
            type: payload.type,
            turnID: turnID,
            clientMessageID: clientMessageID,
            turnStatus: turnStatus,
            json: json,
            userContent: userContent
        )
    }
}
