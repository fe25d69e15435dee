public import BedsideCore
import BedsideProtocol
import HTTPTypes
public import Logging
public import ServiceLifecycle
import Synchronization

/// The one place every server event goes through: it assigns `seq`, persists, and fans out to
/// every connection of the event's session and to no other.
///
/// The hub keeps a ``Session`` in memory while it has connections, a running or queued turn or
/// events in flight, and forgets it when it has none (the store keeps its history). It is a
/// `Service`: `run()` writes events until graceful shutdown, then cancels running and queued
/// turns, writes their end events, and closes every connection with 1001.
///
/// It also holds the server's turn limits: the turns each rate key may start per minute
/// (``TurnRateWindow``) and the turns that may run at once (``TurnSlots``), shared by every
/// session.
///
/// What it deliberately does not do: parse frames or touch sockets. Connections hand it
/// validated frames and drain their own outboxes.
public final class SessionHub: Service, Sendable {
    let store: any EventStore
    let runner: any TurnRunner
    let logger: Logger
    let persister: EventPersister
    let outboxCapacity: Int
    let serverVersion: String
    let metrics: BedsideMetrics
    /// The turn limits: turns per minute per rate key, and turns running at once.
    let limits: ServerLimits
    /// Turns each rate key started in the last minute (`limits.maxTurnsPerMinute`).
    let turnRates: Mutex<TurnRateWindow>
    /// The slots of the turns running at once (`limits.maxConcurrentTurns`).
    let turnSlots: TurnSlots
    /// The time the turn-rate window is measured on: elapsed since the hub was made.
    let elapsed: @Sendable () -> Duration
    /// The per-user channel of `GET /sessions/updates`.
    let userChannel = UserChannel()
    /// How long graceful shutdown lets running turns finish before cancelling them.
    let shutdownGrace: Duration

    private struct State {
        var sessions: [SessionID: Session] = [:]
        var openConnections = 0
    }

    private let state = Mutex(State())
    /// Read under session locks, so it must not share the hub's lock (lock order: hub → session).
    private let shuttingDown = Atomic(false)

    /// Creates a hub over `store` whose turns are run by `runner`.
    ///
    /// - Parameters:
    ///   - clock: what the turns-per-minute window is measured on; tests pass a manual clock.
    ///     Default: the continuous clock.
    ///   - shutdownGrace: how long graceful shutdown lets running turns finish before it cancels
    ///     them with reason `shutdown`. Default: 10 s.
    public init(
        store: any EventStore,
        runner: any TurnRunner,
        outboxCapacity: Int = 4096,
        serverVersion: String = BedsideVersion.current,
        metrics: BedsideMetrics = BedsideMetrics(),
        limits: ServerLimits = ServerLimits(),
        clock: any Clock<Duration> = ContinuousClock(),
        shutdownGrace: Duration = .seconds(10),
        logger: Logger
    ) {
        self.shutdownGrace = shutdownGrace
        self.metrics = metrics
        self.limits = limits
        self.turnRates = Mutex(TurnRateWindow(limit: limits.maxTurnsPerMinute))
        self.turnSlots = TurnSlots(capacity: limits.maxConcurrentTurns)
        self.elapsed = Self.elapsed(on: clock)
        self.store = store
        self.runner = runner
        self.logger = logger
        self.outboxCapacity = outboxCapacity
        self.serverVersion = serverVersion
        self.persister = EventPersister(
            store: store,
            logger: logger,
            onHeld: { session in session.storeFailed() },
            onFailure: { metrics.storeWriteFailed() }
        )
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }

    /// False while some session's events cannot be written: new messages are refused with
    /// `store_unavailable` and `/ready` answers 503 until they are.
    public var storeIsWritable: Bool { persister.isWritable }

    /// `clock` opened once: `any Clock<Duration>` cannot subtract its own instants.
    private static func elapsed<C: Clock<Duration>>(on clock: C) -> @Sendable () -> Duration {
        let origin = clock.now
        return { origin.duration(to: clock.now) }
    }

    /// Counts a turn of `rateKey` against its turns per minute, or says how long until one
    /// may start; a nil key (an internal caller) is never limited.
    func admitTurn(rateKey: String?) -> TurnRateWindow.Decision {
        guard let rateKey, limits.maxTurnsPerMinute > 0 else { return .admitted }
        let now = elapsed()
        return turnRates.withLock { $0.admit(rateKey, at: now) }
    }

    // MARK: Service

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.persister.run() }
            // Serve until graceful shutdown (or cancellation), then stop in order.
            try? await gracefulShutdown()
            await stopTurns()
            persister.finish()
            await group.waitForAll()
        }
        userChannel.finishAll()
        await closeConnections()
    }

    /// Refuses new turns and connections, cancels turns waiting for a slot, lets running turns
    /// finish within ``shutdownGrace``, then cancels the rest and waits for their end events (at
    /// most 5 s: a turn that ignores cancellation is closed as `interrupted` at the next start).
    private func stopTurns() async {
        shuttingDown.store(true, ordering: .releasing)
        let sessions = state.withLock { Array($0.sessions.values) }
        for session in sessions { session.cancelTurn(reason: "shutdown", onlyIfWaiting: true) }
        let running = sessions.compactMap(\.runningTurnTask)
        if !running.isEmpty, shutdownGrace > .zero {
            logger.notice(
                "Letting running turns finish before shutdown",
                metadata: ["turns": "\(running.count)", "grace": "\(shutdownGrace)"]
            )
            if await Self.wait(for: running, upTo: shutdownGrace) { return }
        }
        for session in sessions { session.cancelTurn(reason: "shutdown") }
        let cancelled = sessions.compactMap(\.runningTurnTask)
        if await !Self.wait(for: cancelled, upTo: .seconds(5)) {
            logger.error("Turns did not end within 5 s of being cancelled; the next start closes them as interrupted")
        }
    }

    /// Waits until every task has ended or `limit` has passed; true when they all ended. The
    /// tasks are not cancelled: awaiting a task's value does not end it.
    private static func wait(for tasks: [Task<Void, Never>], upTo limit: Duration) async -> Bool {
        guard !tasks.isEmpty else { return true }
        let pending = Mutex<CheckedContinuation<Bool, Never>?>(nil)
        let finish: @Sendable (Bool) -> Void = { ended in pending.withLock { $0.take() }?.resume(returning: ended) }
        let timer = Mutex<Task<Void, Never>?>(nil)
        let ended = await withCheckedContinuation { continuation in
            pending.withLock { $0 = continuation }
            Task {
                for task in tasks { await task.value }
                finish(true)
            }
            timer.withLock {
                $0 = Task {
                    try? await Task.sleep(for: limit)
                    finish(false)
                }
            }
        }
        timer.withLock { $0?.cancel() }
        return ended
    }

    /// Closes every connection with 1001 once what is queued for it is written; waits up to 5 s.
    private func closeConnections() async {
        let going = CloseRequest(code: 1001, reason: "server shutting down", drainFirst: true)
        for session in state.withLock({ Array($0.sessions.values) }) {
            session.closeConnections(going)
        }
        // Shutdown only: a short poll keeps this independent of how each connection ends.
        let deadline = ContinuousClock.now + .seconds(5)
        while state.withLock({ $0.openConnections > 0 }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Ends every turn a previous process left running (`failed`, reason `interrupted`).
    func closeInterruptedTurns() async throws {
        let turns = try await store.unfinishedTurns()
        guard !turns.isEmpty else { return }
        logger.warning("Closing turns interrupted by a restart", metadata: ["turns": "\(turns.count)"])
        for turn in turns {
            let session = try await activate(turn.sessionID)
            session.closeInterruptedTurn(turn.turnID)
            evictIfIdle(session)
        }
    }

    // MARK: Sessions

    /// The in-memory session for `id`, loading its seq and idempotency keys from the store.
    func activate(_ id: SessionID) async throws -> Session {
        if let session = state.withLock({ $0.sessions[id] }) { return session }
        let snapshot = try await store.snapshot(of: id)
        return state.withLock { state in
            if let existing = state.sessions[id] { return existing }
            let session = Session(id: id, snapshot: snapshot, hub: self)
            state.sessions[id] = session
            return session
        }
    }

    /// Forgets `session` when it has no connection, no turn and no event in flight.
    func evictIfIdle(_ session: Session) {
        state.withLock { state in
            guard state.sessions[session.id] === session, session.evictIfIdle() else { return }
            state.sessions[session.id] = nil
        }
    }

    /// Deletes `id`'s conversation: cancels its running turn and waits for its end, closes its
    /// connections with 4404 `session_deleted`, then removes its events from the store (never its
    /// access audit). False when the store has no such session.
    func delete(_ id: SessionID, directory: any SessionDirectory) async throws -> Bool {
        guard try await directory.summary(of: id) != nil else { return false }
        let session = try await activate(id)
        guard storeIsWritable else { throw Self.storeUnavailableError }
        session.cancelTurn(reason: "deleted")
        await session.runningTurnTask?.value
        // Wait for what the turn emitted to be written, so nothing lands after the delete.
        while session.sequence.delivered < session.sequence.latest {
            guard storeIsWritable else { throw Self.storeUnavailableError }
            try await Task.sleep(for: .milliseconds(5))
        }
        session.closeConnections(CloseRequest(code: 4404, reason: "session_deleted", drainFirst: true))
        session.markDeleted()
        state.withLock { state in
            if state.sessions[id] === session { state.sessions[id] = nil }
        }
        let existed = try await directory.delete(id)
        userChannel.publish(.deleted(id))
        return existed
    }

    /// What a request that needs the store to write is answered while it cannot.
    static let storeUnavailableError = APIError(
        .serviceUnavailable,
        .storeUnavailable,
        "The event store cannot write right now, so nothing was changed: try again once /ready reports ready."
    )

    /// Active sessions, for metrics and tests.
    var activeSessionCount: Int { state.withLock { $0.sessions.count } }

    /// Open connections and active sessions, read together for `/metrics`.
    var connectionCounts: (connections: Int, sessions: Int) {
        state.withLock { ($0.openConnections, $0.sessions.count) }
    }

    /// Attaches a new connection to its session, retrying if the session was evicted meanwhile.
    func connect(_ id: SessionID, outbox: Outbox) async throws -> (Session, deliveredSeq: Int64, latestSeq: Int64)? {
        guard !isShuttingDown else { return nil }
        state.withLock { $0.openConnections += 1 }
        do {
            while true {
                let session = try await activate(id)
                if let (delivered, latest) = session.attach(outbox) { return (session, delivered, latest) }
            }
        } catch {
            disconnected()
            throw error
        }
    }

    /// Called once per connection that `connect` accepted, when it has ended.
    func disconnected(from session: Session? = nil, outbox: Outbox? = nil) {
        if let session, let outbox { session.detach(outbox) }
        state.withLock { $0.openConnections -= 1 }
    }

    /// A connection-scoped `error` frame (no seq; not part of the session's history).
    func connectionError(
        _ code: ErrorCode,
        _ message: String,
        session: SessionID,
        retryAfterMilliseconds: Int64? = nil
    ) -> OutboundFrame {
        .event(seq: nil, text: connectionErrorText(code, message, session: session, retryAfterMilliseconds: retryAfterMilliseconds))
    }

    /// The JSON text of a connection-scoped `error` frame.
    func connectionErrorText(
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

/// The version of Bedside reported in `connection` events and `/health`.
public enum BedsideVersion {
    public static let current = "0.1.0"
}
