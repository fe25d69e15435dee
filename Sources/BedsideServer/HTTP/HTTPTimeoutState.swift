import NIOCore

/// How long an HTTP/1 connection may take at each step before it is closed: the defence against
/// slowloris clients that open many connections and send their requests a byte at a time.
struct HTTPTimeouts: Sendable, Equatable {
    /// From connecting, or from the first byte after an idle spell, to a complete request head.
    var header: Duration
    /// Between requests (nothing sent since the last response ended), and between two reads of
    /// a request body.
    var idle: Duration
}

/// The pure state of ``HTTPTimeoutHandler``: which deadline an HTTP/1 connection is under.
///
/// - Connected, or bytes after an idle spell: the request head must be complete within
///   `header` (a fixed deadline: trickling bytes does not extend it).
/// - Head received, body not yet complete: each read must come within `idle` of the previous.
/// - Request complete, response not ended: no deadline (a long answer, or an event stream).
/// - Response ended, nothing in flight: the next byte must come within `idle`.
///
/// A connection upgraded to a WebSocket drops its state (pings watch it from then on).
struct HTTPTimeoutState {
    /// The deadline a connection is under, and what it is called in `/metrics`.
    struct Deadline: Equatable {
        var at: NIODeadline
        var limit: LimitName
    }

    let timeouts: HTTPTimeouts
    /// Requests whose head has arrived and whose response has not ended.
    private var inFlight = 0
    /// A request head has arrived and its end has not.
    private var readingRequest = false
    /// When the bytes of a request head not yet complete started (or the connection opened).
    private var headStartedAt: NIODeadline?
    private var lastActivity: NIODeadline

    init(timeouts: HTTPTimeouts, connectedAt now: NIODeadline) {
        self.timeouts = timeouts
        headStartedAt = now
        lastActivity = now
    }

    /// The deadline in force now; nil when there is none.
    var deadline: Deadline? {
        if readingRequest { return Deadline(at: lastActivity + TimeAmount(timeouts.idle), limit: .idleTimeout) }
        if inFlight > 0 { return nil }
        if let headStartedAt { return Deadline(at: headStartedAt + TimeAmount(timeouts.header), limit: .headerTimeout) }
        return Deadline(at: lastActivity + TimeAmount(timeouts.idle), limit: .idleTimeout)
    }

    /// Bytes arrived from the client.
    mutating func bytesReceived(at now: NIODeadline) {
        if !readingRequest, headStartedAt == nil { headStartedAt = now }
        lastActivity = now
    }

    /// A complete request head arrived.
    ///
    /// - Parameter counted: the head was already counted by ``headBytesEnded(at:)`` (the
    ///   first request's head, seen in the bytes before the HTTP pipeline reports it).
    mutating func headReceived(at now: NIODeadline, counted: Bool = false) {
        if !counted { inFlight += 1 }
        readingRequest = true
        headStartedAt = nil
        lastActivity = now
    }

    /// The bytes of the first request's head are complete: until the HTTP pipeline takes the
    /// request (or the connection is upgraded, which can take a while to decide), no deadline.
    mutating func headBytesEnded(at now: NIODeadline) {
        inFlight += 1
        readingRequest = false
        headStartedAt = nil
        lastActivity = now
    }

    /// The request's end (after its body) arrived.
    mutating func requestEnded(at now: NIODeadline) {
        readingRequest = false
        lastActivity = now
    }

    /// A response ended.
    mutating func responseEnded(at now: NIODeadline) {
        inFlight = max(0, inFlight - 1)
        lastActivity = now
    }

    /// The limit the connection has gone past at `now`, if any: the connection is closed.
    func expired(at now: NIODeadline) -> LimitName? {
        guard let deadline, now >= deadline.at else { return nil }
        return deadline.limit
    }
}
