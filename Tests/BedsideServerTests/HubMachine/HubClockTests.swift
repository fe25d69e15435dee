import BedsideCore
import BedsideProtocol
import BedsideStore
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import BedsideServer

/// The hub's waits run on its injected clock: the event writer's retry backoff (50 ms doubling)
/// and the shutdown grace do not move until a manual clock does.
@Suite struct HubClockTests {
    private static var quiet: Logger {
        var logger = Logger(label: "bedside-hub-clock-test")
        logger.logLevel = .critical
        return logger
    }

    /// A running hub over `store` whose timers run on `clock`.
    private static func start(
        store: any EventStore,
        runner: any TurnRunner = ScriptedRunner(),
        clock: ManualClock,
        shutdownGrace: Duration = .seconds(10)
    ) -> (SessionHub, ServiceGroup, Task<Void, any Error>) {
        let hub = SessionHub(store: store, runner: runner, timerClock: clock, shutdownGrace: shutdownGrace, logger: quiet)
        let group = ServiceGroup(configuration: .init(services: [.init(service: hub)], logger: quiet))
        return (hub, group, Task { try await group.run() })
    }

    /// Gives the hub's tasks real time to act on what they can; a wait that only ever lets a
    /// wrong answer slip through on a slow machine, never fails a right one.
    private static func settle() async throws { try await Task.sleep(for: .milliseconds(150)) }

    @Test func heldEventsAreRetriedOnlyAsTheClockPassesTheBackoff() async throws {
        let clock = ManualClock()
        let store = FlakyStore()
        let (hub, group, task) = Self.start(store: store, clock: clock)
        store.fail(.all)
        let id = try #require(SessionID(newSessionID()))
        let session = try await hub.activate(id)
        session.closeInterruptedTurn("turn-old")
        // The batch, then the session on its own.
        try await eventually("the first write failed") { store.refusedWrites == 2 && !hub.storeIsWritable }
        try await Self.settle()
        #expect(store.refusedWrites == 2, "no retry before the clock moves")
        clock.advance(by: .milliseconds(49))
        try await Self.settle()
        #expect(store.refusedWrites == 2)
        clock.advance(by: .milliseconds(1))
        try await eventually("the retry at 50 ms") { store.refusedWrites == 3 }
        // Doubled: the next retry is 100 ms later.
        clock.advance(by: .milliseconds(99))
        try await Self.settle()
        #expect(store.refusedWrites == 3)
        store.fail(.none)
        clock.advance(by: .milliseconds(1))
        try await eventually("the events are written") {
            try await store.events(in: id, after: 0, through: nil, limit: nil).count == 2
        }
        try await eventually("the store counts as writable") { hub.storeIsWritable }
        #expect(store.refusedWrites == 3)
        await group.triggerGracefulShutdown()
        try await task.value
    }

    @Test func theShutdownGraceRunsOnTheClockAndTimesTheTurnOnIt() async throws {
        let clock = ManualClock()
        let store = InMemoryEventStore()
        let (hub, group, task) = Self.start(store: store, runner: UntilCancelledRunner(), clock: clock)
        let id = try #require(SessionID(newSessionID()))
        let session = try await hub.activate(id)
        session.receiveMessage(content: "wait", clientMessageID: nil, from: Outbox(capacity: 64) {})
        try await eventually("the turn started") {
            try await store.events(in: id, after: 0, through: nil, limit: nil).map(\.type) == ["user", "turn"]
        }
        async let stopped: Void = { await group.triggerGracefulShutdown() }()
        try await eventually("shutdown began") { hub.isShuttingDown }
        try await Self.settle()
        #expect(session.hasTurn && session.cancelReason == nil, "the grace has not passed on the clock")
        clock.advance(by: .milliseconds(9_999))
        try await Self.settle()
        #expect(session.hasTurn && session.cancelReason == nil)
        clock.advance(by: .milliseconds(1))
        try await eventually("the turn was cancelled at the end of the grace") { !session.hasTurn }
        await stopped
        try await task.value
        let end = try #require(try await store.events(in: id, after: 0, through: nil, limit: nil).last)
        let value = try JSONValue.parse(end.json)
        #expect(value.status == "cancelled" && value["reason"]?.stringValue == "shutdown")
        #expect(value["duration_ms"]?.integerValue == 10_000)
    }
}

/// A runner whose turn lasts until it is cancelled.
struct UntilCancelledRunner: TurnRunner {
    var description: String { "until-cancelled test runner" }

    func run(_ turn: TurnContext) async throws -> TurnUsage {
        try await Task.sleep(for: .seconds(3_600))
        return TurnUsage()
    }
}
