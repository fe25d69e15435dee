import Synchronization
import Testing

@testable import BedsideServer

/// The turns-per-minute window as a pure value: times in, decisions out.
@Suite struct TurnRateWindowTests {
    @Test func atTheDefaultThirtyTurnsAMinuteTheThirtyFirstWaitsForTheOldestToLeave() {
        var window = TurnRateWindow(limit: ServerLimits().maxTurnsPerMinute)
        #expect(window.limit == 30)
        for second in 0..<30 {
            #expect(window.admit("alice", at: .seconds(second)) == .admitted)
        }
        #expect(window.admit("alice", at: .seconds(48)) == .refused(retryAfter: .seconds(12)))
        // A refusal counts nothing: asking again later gets the shorter wait.
        #expect(window.admit("alice", at: .milliseconds(59_500)) == .refused(retryAfter: .milliseconds(500)))
        #expect(window.admit("alice", at: .seconds(60)) == .admitted)
        // The turn at 60 s replaced the one at 0 s; the one at 1 s is next to leave.
        #expect(window.admit("alice", at: .seconds(60)) == .refused(retryAfter: .seconds(1)))
        #expect(window.admit("alice", at: .seconds(61)) == .admitted)
    }

    @Test func keysAreCountedApart() {
        var window = TurnRateWindow(limit: 2)
        #expect(window.admit("alice", at: .zero) == .admitted)
        #expect(window.admit("alice", at: .zero) == .admitted)
        #expect(window.admit("alice", at: .seconds(1)) == .refused(retryAfter: .seconds(59)))
        #expect(window.admit("127.0.0.1", at: .seconds(1)) == .admitted)
    }

    @Test func neverMoreThanTheLimitInAnyMinuteWhateverTheTiming() {
        var window = TurnRateWindow(limit: 5)
        var admitted: [Duration] = []
        // A client that asks every 700 ms for ten minutes.
        for step in 0..<857 {
            let now = Duration.milliseconds(step * 700)
            if window.admit("k", at: now) == .admitted { admitted.append(now) }
        }
        for (index, start) in admitted.enumerated() {
            #expect(admitted[index...].prefix { $0 - start < .seconds(60) }.count <= 5)
        }
        #expect(admitted.count >= 45)
    }

    @Test func zeroMeansUnlimited() {
        var window = TurnRateWindow(limit: 0)
        for _ in 0..<10_000 { #expect(window.admit("k", at: .zero) == .admitted) }
        #expect(window.keyCount == 0)
    }

    @Test func keysWithNoTurnInTheLastMinuteAreForgotten() {
        var window = TurnRateWindow(limit: 3)
        // Ten new clients a second for 500 s: about 600 of them have a turn in any minute.
        for key in 0..<5_000 {
            _ = window.admit("client-\(key)", at: .milliseconds(key * 100))
            #expect(window.keyCount <= 1_200)
        }
        #expect(window.keyCount >= 600)
        // Much later, the old clients are all forgotten as new ones come.
        for key in 0..<1_100 { _ = window.admit("again-\(key)", at: .seconds(10_000)) }
        #expect(window.keyCount <= 1_100)
    }
}

/// The concurrent-turn slots: first in, first out across sessions; cancelling leaves the queue.
@Suite struct TurnSlotsTests {
    @Test func turnsBeyondTheCapacityWaitInOrderAndAreHandedSlotsInOrder() async throws {
        let slots = TurnSlots(capacity: 2)
        #expect(slots.admit() == .granted)
        #expect(slots.admit() == .granted)
        guard case .queued(let first, 1) = slots.admit(), case .queued(let second, 2) = slots.admit() else {
            Issue.record("the third and fourth turns were not queued at positions 1 and 2")
            return
        }
        #expect(slots.counts.running == 2 && slots.counts.waiting == 2)
        let order = Recorder()
        let waiting = Task {
            try await slots.wait(for: first)
            order.append("first")
        }
        let later = Task {
            try await slots.wait(for: second)
            order.append("second")
        }
        slots.release()
        try await waiting.value
        #expect(order.values == ["first"])
        slots.release()
        try await later.value
        #expect(order.values == ["first", "second"])
        #expect(slots.counts.running == 2 && slots.counts.waiting == 0)
        slots.release()
        slots.release()
        #expect(slots.counts.running == 0 && slots.counts.waiting == 0)
    }

    @Test func aSlotHandedOverBeforeItsTurnWaitsIsKeptForIt() async throws {
        let slots = TurnSlots(capacity: 1)
        _ = slots.admit()
        guard case .queued(let ticket, _) = slots.admit() else { throw TestFailure("not queued") }
        slots.release()
        try await slots.wait(for: ticket)
        #expect(slots.counts.running == 1 && slots.counts.waiting == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueueAndTheNextIsServed() async throws {
        let slots = TurnSlots(capacity: 1)
        _ = slots.admit()
        guard case .queued(let cancelled, _) = slots.admit(), case .queued(let next, 2) = slots.admit() else {
            throw TestFailure("not queued")
        }
        let doomed = Task { try await slots.wait(for: cancelled) }
        doomed.cancel()
        await #expect(throws: CancellationError.self) { try await doomed.value }
        #expect(slots.counts.running == 1 && slots.counts.waiting == 1)
        // Cancelled before it even waited: it throws at once.
        guard case .queued(let early, 2) = slots.admit() else { throw TestFailure("not queued") }
        let never = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await slots.wait(for: early)
        }
        await #expect(throws: CancellationError.self) { try await never.value }
        slots.release()
        try await slots.wait(for: next)
        #expect(slots.counts.running == 1 && slots.counts.waiting == 0)
    }

    @Test func zeroMeansUnlimited() {
        let slots = TurnSlots(capacity: 0)
        for _ in 0..<1_000 { #expect(slots.admit() == .granted) }
    }
}

/// Strings appended from several tasks.
final class Recorder: Sendable {
    private let items = Mutex<[String]>([])
    func append(_ item: String) { items.withLock { $0.append(item) } }
    var values: [String] { items.withLock { $0 } }
}
