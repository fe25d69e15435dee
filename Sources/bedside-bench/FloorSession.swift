import BedsideCore
import BedsideProtocol
import NIOCore
import Synchronization

/// The floor server's sessions: which connections each has, its `seq` and whether a turn
/// runs. Nothing is stored: a session lives while it has a connection or a running turn.
///
/// Lock order: the hub's lock, then a session's.
final class FloorHub: Sendable {
    private let sessions = Mutex<[String: FloorSession]>([:])
    let model: FloorModel

    init(model: FloorModel) {
        self.model = model
    }

    /// Adds `connection` to its session (made when it has none); returns the session and its
    /// newest `seq`.
    func attach(_ connection: FloorConnection, to id: SessionID) -> (FloorSession, latestSeq: Int64) {
        sessions.withLock { sessions in
            let session = sessions[id.rawValue] ?? FloorSession(id: id)
            sessions[id.rawValue] = session
            return (session, session.add(connection))
        }
    }

    /// Removes `connection` from `session`, and the session once it has neither connections nor a turn.
    func detach(_ connection: FloorConnection, from session: FloorSession) {
        sessions.withLock { sessions in
            if session.remove(connection) { sessions[session.id.rawValue] = nil }
        }
    }

    /// Forgets `session` if it has neither connections nor a turn (once its turn ended).
    func forgetIfUnused(_ session: FloorSession) {
        sessions.withLock { sessions in
            if session.isUnused { sessions[session.id.rawValue] = nil }
        }
    }
}

/// One session of the floor server. Its turn, the only emitter of its events, assigns each
/// `seq`, encodes the event once and hands the same bytes to every connection of the session.
final class FloorSession: Sendable {
    private struct State {
        var seq: Int64 = 0
        var connections: [FloorConnection] = []
        var turnRunning = false
        var turn: Task<Void, Never>?
    }

    let id: SessionID
    private let state = Mutex(State())

    init(id: SessionID) {
        self.id = id
    }

    /// The newest `seq` of the session.
    var latestSeq: Int64 { state.withLock { $0.seq } }

    /// Adds a connection; returns the newest `seq`.
    fileprivate func add(_ connection: FloorConnection) -> Int64 {
        state.withLock {
            $0.connections.append(connection)
            return $0.seq
        }
    }

    /// Removes a connection; returns whether the session is now unused.
    fileprivate func remove(_ connection: FloorConnection) -> Bool {
        state.withLock { state in
            state.connections.removeAll { $0 === connection }
            return state.connections.isEmpty && !state.turnRunning
        }
    }

    /// Whether the session has neither connections nor a turn.
    fileprivate var isUnused: Bool {
        state.withLock { $0.connections.isEmpty && !$0.turnRunning }
    }

    /// Starts a turn on `loop` (the loop of the connection that asked), unless one runs;
    /// returns false when the session is busy.
    func startTurn(content: String, clientMessageID: String?, loop: any EventLoop, hub: FloorHub) -> Bool {
        let free = state.withLock { state in
            guard !state.turnRunning else { return false }
            state.turnRunning = true
            return true
        }
        guard free else { return false }
        let turn = FloorTurn(loop: loop, session: self, hub: hub, content: content, clientMessageID: clientMessageID)
        let task = Task { await turn.run() }
        state.withLock { state in
            if state.turnRunning { state.turn = task }
        }
        return true
    }

    /// Cancels the running turn, if any.
    func cancelTurn() {
        state.withLock { $0.turn }?.cancel()
    }

    /// Emits one event of the session's history to every connection. With `endsTurn` (the
    /// turn's end event) the session is free for the next `message` before the event leaves,
    /// so that a client answering the end at once is never told `busy`; returns whether the
    /// session is then unused.
    @discardableResult
    func emit(_ payload: EventPayload, turnID: String, endsTurn: Bool = false) -> Bool {
        let (seq, connections) = state.withLock { state in
            state.seq += 1
            if endsTurn {
                state.turnRunning = false
                state.turn = nil
            }
            return (state.seq, state.connections)
        }
        let event = ServerEvent(sessionID: id, seq: seq, timestamp: .now(), turnID: turnID, payload: payload)
        let frame = ByteBuffer(string: event.json)
        for connection in connections { connection.send(frame) }
        return endsTurn && connections.isEmpty
    }
}
