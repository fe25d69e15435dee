/// One event of a session's history as the store keeps it: the indexing fields plus the exact
/// JSON text that was sent on the wire.
///
/// The store never re-encodes an event: replay sends `json` as it was first written, so a
/// replayed event is byte-for-byte the live one.
public struct StoredEvent: Sendable, Hashable {
    /// The session the event belongs to.
    public var sessionID: SessionID
    /// The event's position in the session's history, starting at 1.
    public var seq: Int64
    /// The wire `type` (`user`, `turn`, `assistant`, …).
    public var type: String
    /// The turn the event belongs to, if any.
    public var turnID: String?
    /// For `user` events: the client's idempotency key, if it sent one.
    public var clientMessageID: String?
    /// For `turn` events: the turn's status (`started`, `completed`, `cancelled`, `failed`).
    /// A `queued` event has `started`, since its turn is open (and counted) from then on; the
    /// `turn` `started` that follows it has none.
    public var turnStatus: String?
    /// The complete event as UTF-8 JSON text.
    public var json: String
    /// For `user` events: the message text, from which a session's title is taken. Not stored
    /// apart from `json`.
    public var userContent: String?

    public init(
        sessionID: SessionID,
        seq: Int64,
        type: String,
        turnID: String? = nil,
        clientMessageID: String? = nil,
        turnStatus: String? = nil,
        json: String,
        userContent: String? = nil
    ) {
        self.sessionID = sessionID
        self.seq = seq
        self.type = type
        self.turnID = turnID
        self.clientMessageID = clientMessageID
        self.turnStatus = turnStatus
        self.json = json
        self.userContent = userContent
    }
}

/// What the hub needs to know about a session when it first becomes active.
public struct SessionSnapshot: Sendable, Equatable {
    /// The newest `seq` of the session, 0 when it has no events.
    public var latestSeq: Int64
    /// Every `client_message_id` already accepted in the session.
    public var clientMessageIDs: Set<String>

    public init(latestSeq: Int64 = 0, clientMessageIDs: Set<String> = []) {
        self.latestSeq = latestSeq
        self.clientMessageIDs = clientMessageIDs
    }
}

/// A turn whose `started` event has no matching end event: it was running when the process
/// stopped.
public struct UnfinishedTurn: Sendable, Hashable {
    public var sessionID: SessionID
    public var turnID: String

    public init(sessionID: SessionID, turnID: String) {
        self.sessionID = sessionID
        self.turnID = turnID
    }
}

extension StoredEvent {
    /// Whether this is an `assistant` text delta (`"streaming":true`), found in the JSON bytes
    /// without decoding them. The member cannot occur inside a string value, where every quote
    /// is escaped.
    public var isStreamingDelta: Bool {
        guard type == "assistant" else { return false }
        var json = json
        return json.withUTF8 { text in
            let member = Self.streamingTrue
            guard text.count >= member.count else { return false }
            var index = 0
            let last = text.count - member.count
            while index <= last {
                if text[index] == member[0] {
                    var matched = 1
                    while matched < member.count, text[index + matched] == member[matched] { matched += 1 }
                    if matched == member.count { return true }
                }
                index += 1
            }
            return false
        }
    }

    private static let streamingTrue: [UInt8] = Array(#""streaming":true"#.utf8)
}
