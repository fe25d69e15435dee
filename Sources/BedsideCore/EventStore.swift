/// The durable log of every session's events.
///
/// The session hub appends events in batches (one transaction per batch, never one per event)
/// and reads them back for resume and for `GET /sessions/{id}/events`. Implementations:
/// SQLite (the default), in-memory (tests). Appends for one session always arrive in `seq`
/// order; an implementation must keep `(sessionID, seq)` unique.
///
/// What a store deliberately does not do: assign `seq`, decode events or fan them out. Those
/// belong to the hub, so every store behaves the same under the one shared test suite.
public protocol EventStore: Sendable {
    /// Persists a batch of events atomically: all of them or none.
    func append(_ events: [StoredEvent]) async throws

    /// The events of `session` with `seq > after`, in `seq` order, at most `limit` of them,
    /// and none beyond `through` when it is given.
    func events(in session: SessionID, after: Int64, through: Int64?, limit: Int?) async throws -> [StoredEvent]

    /// The conversation of `session` up to `through`, in `seq` order: the events
    /// ``ConversationRule`` counts (its `user` events and its final `assistant` replies with
    /// text). What a turn sends the model as history; most of a session's events are deltas, so
    /// a store should leave them out where it reads (``ConversationRule/sqlPredicate(type:json:)``).
    func conversation(in session: SessionID, through: Int64) async throws -> [StoredEvent]

    /// The `user` event that accepted `clientMessageID` in `session`, if any.
    func userEvent(in session: SessionID, clientMessageID: String) async throws -> StoredEvent?

    /// The newest seq and the accepted client message ids of `session`.
    func snapshot(of session: SessionID) async throws -> SessionSnapshot

    /// Turns that started and never ended, across all sessions.
    func unfinishedTurns() async throws -> [UnfinishedTurn]

    /// Checks that the store can be read; throws when it cannot.
    func ping() async throws
}

extension EventStore {
    /// Reads every event and keeps the conversation: correct for any store, and what an
    /// in-memory store costs anyway.
    public func conversation(in session: SessionID, through: Int64) async throws -> [StoredEvent] {
        try await events(in: session, after: 0, through: through, limit: nil).filter(ConversationRule.includes)
    }
}
