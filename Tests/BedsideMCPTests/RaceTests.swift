import BedsideCore
import BedsideTestSupport
import Foundation
import Testing

@testable import BedsideMCP

/// The structured race that replaced `firstOf`: the first racer wins, and by the time the
/// answer is back every loser has been cancelled and has ended (before, losers were left
/// running on their own). Timed on a ``TestClock``: nothing waits in real time.
@Suite("Racing child tasks")
struct RaceTests {
    @Test("the first racer wins; a loser is cancelled and has ended when the race returns")
    func loserEndsBeforeTheAnswer() async {
        let clock = ElapsedClock(TestClock())
        let log = Log()
        let racers: [@Sendable () async -> String] = [
            { "fast" },
            {
                do {
                    try await clock.sleep(for: .seconds(3600))
                } catch {
                    log.append("slow cancelled")
                }
                log.append("slow ended")
                return "slow"
            },
        ]
        let winner = await race(racers)
        #expect(winner == "fast")
        #expect(log.all == ["slow cancelled", "slow ended"])
    }

    @Test("a loser that ignores cancellation is ended by stopLosers before the race returns")
    func stubbornLoser() async {
        let gate = Gate()
        let log = Log()
        let racers: [@Sendable () async -> String] = [
            { "fast" },
            {
                await gate.wait()
                log.append("stubborn ended")
                return "stubborn"
            },
        ]
        let winner = await race(racers) { winner in
            log.append("stopping the losers of \(winner)")
            gate.open()
        }
        #expect(winner == "fast")
        #expect(log.all == ["stopping the losers of fast", "stubborn ended"])
    }

    @Test("a timeout on the clock abandons work that ignores cancellation, and waits for its end")
    func timeoutAbandonsTheWork() async throws {
        let testClock = TestClock()
        let gate = Gate()
        let log = Log()
        let attempt = Task {
            try await withTimeout(
                .seconds(30),
                what: "connecting",
                clock: ElapsedClock(testClock),
                abandon: {
                    log.append("abandoned")
                    gate.open()
                },
                work: {
                    await gate.wait()
                    log.append("work ended")
                    return 1
                }
            )
        }
        try await testClock.waitForSleeper { $0 == .seconds(30) }
        #expect(log.all.isEmpty)
        testClock.advance(by: .seconds(30))
        let error = await #expect(throws: TransportError.self) { try await attempt.value }
        #expect(error?.description == "connecting took longer than 30 s")
        #expect(log.all == ["abandoned", "work ended"])
        #expect(testClock.pendingSleeps.isEmpty)
    }

    @Test("the end of the connection fails the work with its reason; finished work returns its value")
    func lifetimeAndSuccess() async throws {
        let clock = ElapsedClock(TestClock())
        let lifetime = TransportLifetime()
        let gate = Gate()
        let ended = Task {
            try await withTimeout(
                .seconds(30),
                what: "listing tools",
                lifetime: lifetime,
                clock: clock,
                abandon: { gate.open() },
                work: { await gate.wait() }
            )
        }
        lifetime.end("the process exited with status 9")
        let error = await #expect(throws: TransportError.self) { try await ended.value }
        #expect(error?.description == "listing tools failed: the process exited with status 9")
        let value = try await withTimeout(.seconds(30), what: "x", clock: clock, abandon: {}, work: { 42 })
        #expect(value == 42)
    }
}
