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
/// It also holds the server's turn limits (``TurnLimiter``): the turns each rate key may start
/// per minute and the turns that may run at once, shared by every session.
///
/// The hub owns its sessions; a session does not hold the hub. Each is given what it needs
/// (``SessionDependencies``): the store, the writer's queue, the limits, the metrics, the shutdown
/// flag, and a weak way to say it has become idle.
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
    /// Turns per minute per rate key, and turns running at once.
    let limiter: TurnLimiter
    /// The per-user channel of `GET /sessions/updates`.
    let userChannel = UserChannel()
    /// How long graceful shutdown lets running turns finish before cancelling them.
    let shutdownGrace: Duration
    /// What turns are timed on and what shutdown waits on.
    let clock: ElapsedClock
    /// The window within which a session's streaming deltas are merged; zero is off.
    let coalesceDeltas: Duration

    private struct State {
        var sessions: [SessionID: Session] = [:]
        var openConnections = 0
    }

    private let state = Mutex(State())
    /// Read under session locks, so it must not share the hub's lock (lock order: hub → session).
    private let shutdown = ShutdownFlag()

    /// Creates a hub over `store` whose turns are run by `runner`.
    ///
    /// - Parameters:
    ///   - clock: what the turns-per-minute window is measured on; tests pass a manual clock.
    ///     Default: the continuous clock.
    ///   - timerClock: what turns are timed on, and what the shutdown grace and the event
    ///     writer's retry backoff wait on; tests pass a manual clock. Default: the continuous clock.
    ///   - shutdownGrace: how long graceful shutdown lets running turns finish before it cancels
    ///     them with reason `shutdown`. Default: 10 s.
    ///   - coalesceDeltas: streaming deltas of a session that arrive within this of the one
    ///     before are merged into one `assistant` delta (`--coalesce-deltas-ms`). Default: zero, off.
    public init(
        store: any EventStore,
        runner: any TurnRunner,
        outboxCapacity: Int = 4096,
        serverVersion: String = BedsideVersion.current,
        metrics: BedsideMetrics = BedsideMetrics(),
        limits: ServerLimits = ServerLimits(),
        clock: any Clock<Duration> = ContinuousClock(),
        timerClock: any Clock<Duration> = ContinuousClock(),
        shutdownGrace: Duration = .seconds(10),
        coalesceDeltas: Duration = .zero,
        logger: Logger
    ) {
        self.shutdownGrace = shutdownGrace
        self.coalesceDeltas = coalesceDeltas
        self.metrics = metrics
        self.limiter = TurnLimiter(limits: limits, clock: clock)
        self.clock = ElapsedClock(timerClock)
        self.store = store
        self.runner = runner
        self.logger = logger
        self.outboxCapacity = outboxCapacity
        self.serverVersion = serverVersion
        self.persister = EventPersister(
            store: store,
            logger: logger,
            clock: self.clock,
            onHeld: { session in session.storeFailed() },
            onFailure: { metrics.storeWriteFailed() }
        )
    }

    var isShuttingDown: Bool { shutdown.isSet }

    /// False while some session's events cannot be written: new messages are refused with
    /// `store_unavailable` and `/ready` answers 503 until they are.
    public var storeIsWritable: Bool { persister.isWritable }

    /// The turn limits: turns per minute per rate key, and turns running at once.
    var limits: ServerLimits { limiter.limits }

    /// The slots of the turns running at once (`limits.maxConcurrentTurns`).
    var turnSlots: TurnSlots { limiter.slots }

    /// Counts a turn of `rateKey` against its turns per minute, or says how long until one
    /// may start; a nil key (an internal caller) is never limited.
    func admitTurn(rateKey: String?) -> TurnRateWindow.Decision {
        limiter.admitTurn(rateKey: rateKey)
    }

    /// What a new session is given: everything it uses, and the hub only weakly.
    private var sessionDependencies: SessionDependencies {
        let persister = persister
        return SessionDependencies(
            store: store,
            runner: runner,
            enqueue: { persister.enqueue($0) },
            metrics: metrics,
            limiter: limiter,
            userChannel: userChannel,
            logger: logger,
            shutdown: shutdown,
            storeIsWritable: { persister.isWritable },
            becameIdle: { [weak self] session in self?.evictIfIdle(session) },
            clock: clock,
            coalesceDeltas: coalesceDeltas
        )
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
        shutdown.set()
        let sessions = state.withLock { Array($0.sessions.values) }
        for session in sessions { session.cancelTurn(reason: "shutdown", onlyIfWaiting: true) }
        let turnsEnded = { !sessions.contains(where: \.hasTurn) }
        if !turnsEnded(), shutdownGrace > .zero {
            logger.notice(
                "Letting running turns finish before shutdown",
                metadata: ["turns": "\(sessions.filter(\.hasTurn).count)", "grace": "\(shutdownGrace)"]
            )
            if await clock.wait(until: turnsEnded, upTo: shutdownGrace) { return }
        }
        for session in sessions { session.cancelTurn(reason: "shutdown") }
        if await !clock.wait(until: turnsEnded, upTo: .seconds(5)) {
            logger.error("Turns did not end within 5 s of being cancelled; the next start closes them as interrupted")
        }
    }

    /// Closes every connection with 1001 once what is queued for it is written; waits up to 5 s.
    private func closeConnections() async {
        let going = CloseRequest(code: 1001, reason: "server shutting down", drainFirst: true)
        for session in state.withLock({ Array($0.sessions.values) }) {
            session.closeConnections(going)
        }
        _ = await clock.wait(until: { state.withLock { $0.openConnections == 0 } }, upTo: .seconds(5))
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
            let session = Session(id: id, snapshot: snapshot, dependencies: sessionDependencies)
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
        .connectionError(code, message, session: session, retryAfterMilliseconds: retryAfterMilliseconds)
    }

    /// The JSON text of a connection-scoped `error` frame.
    func connectionErrorText(
        _ code: ErrorCode,
        _ message: String,
        session: SessionID,
        retryAfterMilliseconds: Int64? = nil
    ) -> String {
        OutboundFrame.connectionErrorText(code, message, session: session, retryAfterMilliseconds: retryAfterMilliseconds)
    }
}

/// The version of Bedside reported in `connection` events and `/health`.
public enum BedsideVersion {
    public static let current = "0.1.0"
}
