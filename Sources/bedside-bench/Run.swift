import BedsideBenchCore
import BedsideProtocol
import NIOCore

/// Wall-clock microseconds since 1970, the clock Bedside stamps its events with.
func nowMicros() -> Int64 {
    Timestamp.now().microseconds
}

/// One measured set of connections and what they observed. Confined to one event loop: every
/// client callback and every counter below runs there.
final class Run: @unchecked Sendable {
    let loop: any EventLoop
    let host: String
    let port: Int
    /// Turns each driver runs.
    var turnsPerSession = 1
    /// Whether event delivery latency is recorded (not for replayed history).
    var recordsLatency = true

    var latency = Samples()
    var latencyByType: [String: Samples] = [:]
    var turnTimes = Samples()
    var firstDelta = Samples()
    var frames = 0
    var foreign = 0
    var unparsed = 0
    var turnsCompleted = 0
    var turnsFailed = 0
    var errors: [String: Int] = [:]
    /// Close codes by role ("none" when the server hung up without one).
    var closes: [String: [String: Int]] = [:]
    var framesByRole: [String: Int] = [:]
    var highestSeq: Int64 = 0
    var clients: [Client] = []

    private var driversLeft = 0
    private var done: EventLoopPromise<Void>?
    private var replayTarget: Int64 = .max
    private(set) var replayEnd: Int64?

    init(loop: any EventLoop, host: String, port: Int) {
        self.loop = loop
        self.host = host
        self.port = port
    }

    /// Opens `clients` at most `window` at a time; completes once each is ready (has its
    /// `connection` event) or has failed. Returns how many are ready.
    func open(_ newClients: [Client], window: Int = 256, receiveBuffer: Int? = nil) -> EventLoopFuture<Int> {
        loop.flatSubmit {
            let promise = self.loop.makePromise(of: Int.self)
            var next = 0
            var inFlight = 0
            var settled = 0
            var ready = 0
            self.clients += newClients
            guard !newClients.isEmpty else {
                promise.succeed(0)
                return promise.futureResult
            }
            func pump() {
                while inFlight < window, next < newClients.count {
                    let client = newClients[next]
                    next += 1
                    inFlight += 1
                    client.onSettled = { isReady in
                        inFlight -= 1
                        settled += 1
                        if isReady { ready += 1 }
                        if settled == newClients.count {
                            promise.succeed(ready)
                        } else {
                            pump()
                        }
                    }
                    client.connectedAt = nowMicros()
                    BenchSocket.connect(
                        on: self.loop,
                        host: self.host,
                        port: self.port,
                        path: client.path,
                        receiveBuffer: client.role == .slow ? receiveBuffer : nil,
                        delegate: client
                    ).whenFailure { _ in client.settle(ready: false) }
                }
            }
            pump()
            return promise.futureResult
        }
    }

    /// Every driver sends its first message; completes when each has run its turns (or lost
    /// its connection), or fails after `timeout`.
    func chat(timeout: TimeAmount) -> EventLoopFuture<Void> {
        loop.flatSubmit {
            let promise = self.loop.makePromise(of: Void.self)
            self.done = promise
            let drivers = self.clients.filter { $0.role == .driver && $0.isReady }
            self.driversLeft = drivers.count
            guard !drivers.isEmpty else {
                promise.succeed(())
                return promise.futureResult
            }
            let timer = self.loop.scheduleTask(in: timeout) { promise.fail(BenchError("the turns did not finish in \(timeout)")) }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            for driver in drivers { driver.sendMessage() }
            return promise.futureResult
        }
    }

    /// Opens one connection that replays the session from the start; completes with the
    /// microseconds from connecting to the event with `seq == through`.
    func replay(_ client: Client, through: Int64, timeout: TimeAmount) -> EventLoopFuture<Int64> {
        loop.flatSubmit {
            self.replayTarget = through
            self.replayEnd = nil
            let promise = self.loop.makePromise(of: Int64.self)
            self.done = self.loop.makePromise(of: Void.self)
            let start = nowMicros()
            let timer = self.loop.scheduleTask(in: timeout) { self.done?.fail(BenchError("the replay did not finish in \(timeout)")) }
            self.done!.futureResult.whenComplete { result in
                timer.cancel()
                switch result {
                case .success: promise.succeed((self.replayEnd ?? start) - start)
                case .failure(let error): promise.fail(error)
                }
            }
            self.open([client], window: 1).whenSuccess { ready in
                if ready == 0 { self.done?.fail(BenchError("the replay connection was refused")) }
            }
            return promise.futureResult
        }
    }

    // MARK: client callbacks (on the loop)

    func record(_ header: EventHeader, receivedAt now: Int64) {
        guard recordsLatency, header.type != "connection", let stamp = header.timestampMicros else { return }
        let value = now - stamp
        latency.record(value)
        latencyByType[header.type, default: Samples()].record(value)
    }

    func driverFinished() {
        driversLeft -= 1
        if driversLeft == 0 { done?.succeed(()) }
    }

    func reached(seq: Int64, at now: Int64) {
        highestSeq = max(highestSeq, seq)
        guard seq >= replayTarget, replayEnd == nil else { return }
        replayEnd = now
        done?.succeed(())
    }

    /// Hangs up every connection and forgets them.
    func closeAll() -> EventLoopFuture<Void> {
        loop.submit {
            for client in self.clients {
                client.hungUp = true
                client.socket?.abort()
            }
            self.clients = []
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One benchmark connection: a driver runs turns, a slow consumer stops reading once
/// connected, an idle one only holds its connection, a replayer reads history.
final class Client: BenchSocketDelegate, @unchecked Sendable {
    enum Role: String { case driver, slow, idle, replay }

    unowned let run: Run
    let role: Role
    let session: String
    let path: String
    private let sessionBytes: [UInt8]
    var socket: BenchSocket?
    var onSettled: ((Bool) -> Void)?
    var connectedAt: Int64 = 0
    private(set) var isReady = false
    private(set) var isClosed = false
    /// Set when the benchmark itself hangs up, so that the close is not counted as the server's.
    var hungUp = false
    private var turnsDone = 0
    private var sentAt: Int64 = 0
    private var sawDelta = false

    init(run: Run, role: Role, session: String, lastSeq: Int64? = nil) {
        self.run = run
        self.role = role
        self.session = session
        self.sessionBytes = Array(session.utf8)
        self.path = "/ws?session_id=\(session)" + (lastSeq.map { "&last_seq=\($0)" } ?? "")
    }

    func settle(ready: Bool) {
        let callback = onSettled
        onSettled = nil
        callback?(ready)
    }

    func sendMessage() {
        sentAt = nowMicros()
        sawDelta = false
        socket?.send(
            #"{"type":"message","session_id":"\#(session)","content":"Find the patients named Smith.","client_message_id":"\#(session)-\#(turnsDone)"}"#
        )
    }

    func opened(_ socket: BenchSocket) {
        self.socket = socket
    }

    func received(_ socket: BenchSocket, text: UnsafeRawBufferPointer) {
        let now = nowMicros()
        run.frames += 1
        run.framesByRole[role.rawValue, default: 0] += 1
        guard let header = EventHeader.scan(text) else {
            run.unparsed += 1
            return
        }
        if !header.sessionID.elementsEqual(sessionBytes) { run.foreign += 1 }
        if header.type == "connection" {
            guard !isReady else { return }
            isReady = true
            if role == .slow { socket.setReading(false) }
            settle(ready: true)
            return
        }
        if role == .replay {
            if let seq = header.seq { run.reached(seq: seq, at: now) }
            return
        }
        if let seq = header.seq { run.highestSeq = max(run.highestSeq, seq) }
        // Latency is what the reading clients see; a stalled one reads hours-old events by design.
        guard role == .driver else { return }
        run.record(header, receivedAt: now)
        if header.type == "error" { run.errors[header.detail ?? "unknown", default: 0] += 1 }
        if header.type == "assistant", !sawDelta {
            sawDelta = true
            run.firstDelta.record(now - sentAt)
        }
        if header.endsTurn {
            run.turnTimes.record(now - sentAt)
            if header.detail == "completed" { run.turnsCompleted += 1 } else { run.turnsFailed += 1 }
            turnsDone += 1
            if turnsDone < run.turnsPerSession {
                sendMessage()
            } else {
                run.driverFinished()
            }
        }
    }

    func closed(_ socket: BenchSocket, code: UInt16?, upgraded: Bool) {
        isClosed = true
        if !hungUp { run.closes[role.rawValue, default: [:]][code.map { String($0) } ?? "none", default: 0] += 1 }
        if !isReady {
            settle(ready: false)
        } else if role == .driver, turnsDone < run.turnsPerSession {
            turnsDone = run.turnsPerSession
            run.driverFinished()
        }
    }
}
