import BedsideCore
import BedsideStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

@testable import BedsideServer

/// A session hub with its event writer running and a manual limit clock, for tests that drive
/// `Session.receiveMessage` directly: the turn limits without sockets, and time without waiting.
final class HubRig: Sendable {
    let hub: SessionHub
    let clock: ManualClock
    let metrics: BedsideMetrics
    let store: InMemoryEventStore
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(hub: SessionHub, clock: ManualClock, metrics: BedsideMetrics, store: InMemoryEventStore, group: ServiceGroup) {
        self.hub = hub
        self.clock = clock
        self.metrics = metrics
        self.store = store
        self.group = group
        self.task = Task { try await group.run() }
    }

    static func start(limits: ServerLimits, runner: any TurnRunner = ScriptedRunner()) -> HubRig {
        var logger = Logger(label: "bedside-hub-test")
        logger.logLevel = .critical
        let clock = ManualClock()
        let metrics = BedsideMetrics()
        let store = InMemoryEventStore()
        let hub = SessionHub(store: store, runner: runner, metrics: metrics, limits: limits, clock: clock, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: hub)], logger: logger))
        return HubRig(hub: hub, clock: clock, metrics: metrics, store: store, group: group)
    }

    /// Attaches a connection to `session`, as a socket's upgrade does.
    func connect(_ session: String, rateKey: String? = "client-a") async throws -> HubConnection {
        let id = try SessionID(session).orThrow("bad session id \(session)")
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let outbox = Outbox(capacity: 4096) { wake.yield() }
        guard let (attached, _, _) = try await hub.connect(id, outbox: outbox) else { throw TestFailure("hub refused the connection") }
        return HubConnection(hub: hub, session: attached, outbox: outbox, wakes: wakes, wake: wake, rateKey: rateKey)
    }

    /// The value of `bedside_limit_refusals_total{limit}`.
    func refusals(_ limit: LimitName) throws -> Double {
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        return try PrometheusText(text).value("bedside_limit_refusals_total", ["limit": limit.rawValue]) ?? 0
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

/// One connection to a hub session: sends messages as its frames would, reads what its outbox
/// is given.
final class HubConnection: Sendable {
    let session: Session
    let rateKey: String?
    private let hub: SessionHub
    private let outbox: Outbox
    /// Frames written so far and whether the outbox has closed.
    private let inbox = Inbox()
    private let reader: Task<Void, Never>

    private let wake: AsyncStream<Void>.Continuation

    init(
        hub: SessionHub,
        session: Session,
        outbox: Outbox,
        wakes: AsyncStream<Void>,
        wake: AsyncStream<Void>.Continuation,
        rateKey: String?
    ) {
        self.hub = hub
        self.session = session
        self.outbox = outbox
        self.wake = wake
        self.rateKey = rateKey
        reader = Task { [inbox] in
            reading: for await _ in wakes {
                while true {
                    let batch = outbox.take()
                    let texts = batch.frames.compactMap { frame -> String? in
                        switch frame {
                        case .event(_, let text): text
                        case .live(_, let bytes, _): String(buffer: bytes)
                        case .replay: nil
                        }
                    }
                    inbox.state.withLock { $0.frames += texts }
                    if batch.close != nil { break reading }
                    if batch.frames.isEmpty { break }
                }
            }
            inbox.state.withLock { $0.ended = true }
        }
    }

    func send(_ content: String, id: String? = nil) async {
        session.receiveMessage(content: content, clientMessageID: id, from: outbox, rateKey: rateKey)
    }

    func cancel() { session.cancelTurn(reason: "cancelled_by_user") }

    /// The next frame, or a failure after `timeout` (polled: it returns as soon as one is there).
    func receive(timeout: Duration = .seconds(60)) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (text, ended): (String?, Bool) = inbox.state.withLock { inbox in
                inbox.frames.isEmpty ? (nil, inbox.ended) : (inbox.frames.removeFirst(), false)
            }
            if let text { return try JSONValue.parse(text) }
            if ended { throw TestFailure("the connection ended") }
            guard ContinuousClock.now < deadline else { throw TestFailure("no frame within \(timeout)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Frames until the current turn ends, the end last.
    func receiveTurn() async throws -> [JSONValue] {
        var events: [JSONValue] = []
        while true {
            let event = try await receive()
            events.append(event)
            if event.type == "turn", event.status != "started" { return events }
        }
    }

    /// Asserts that no frame arrives for `duration`.
    func expectSilence(for duration: Duration = .milliseconds(100)) async throws {
        try await Task.sleep(for: duration)
        if let text = inbox.state.withLock({ $0.frames.first }) { throw TestFailure("expected silence, got \(text)") }
    }

    func close() async {
        hub.disconnected(from: session, outbox: outbox)
        outbox.finish()
        wake.finish()
        await reader.value
    }
}

/// What a ``HubConnection``'s outbox has been given.
private final class Inbox: Sendable {
    let state = Mutex<(frames: [String], ended: Bool)>(([], false))
}

extension Optional {
    func orThrow(_ message: String) throws -> Wrapped {
        guard let self else { throw TestFailure(message) }
        return self
    }
}
