import NIOCore
import Synchronization
import Testing

@testable import BedsideServer

/// The outbox on its own: a bounded queue whose consumer is woken once per batch.
@Suite struct OutboxTests {
    /// Counts the consumer's wake-ups.
    final class Wakes: Sendable {
        let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func wake() { count.withLock { $0 += 1 } }
    }

    static func live(_ seq: Int64) -> OutboundFrame {
        .live(seq: seq, bytes: ByteBuffer(string: "{\"seq\":\(seq)}"), emittedAt: .now)
    }

    static func seqs(_ batch: Outbox.Batch) -> [Int64] {
        batch.frames.compactMap { frame in
            if case .live(let seq, _, _) = frame { return seq }
            return nil
        }
    }

    @Test func aBatchWakesTheConsumerOnceAndKeepsItsOrder() {
        let wakes = Wakes()
        let outbox = Outbox(capacity: 8) { wakes.wake() }
        for seq in 1...5 { #expect(outbox.push(Self.live(Int64(seq)))) }
        #expect(wakes.value == 1)
        let batch = outbox.take()
        #expect(Self.seqs(batch) == [1, 2, 3, 4, 5])
        #expect(batch.close == nil)
        // Emptied: the next frame wakes it again.
        outbox.push(Self.live(6))
        #expect(wakes.value == 2)
    }

    @Test func framesAfterAReplayWaitUntilItIsDone() {
        let outbox = Outbox(capacity: 8) {}
        outbox.push(Self.live(1))
        outbox.push(.replay(after: 0))
        outbox.push(Self.live(2))
        let first = outbox.take()
        #expect(first.frames.count == 2)
        if case .replay(let after) = first.frames.last { #expect(after == 0) } else { Issue.record("replay not last") }
        #expect(Self.seqs(outbox.take()) == [2])
    }

    @Test func overflowDropsEverythingAndAsksForAnAbortingClose() {
        let wakes = Wakes()
        let outbox = Outbox(capacity: 3) { wakes.wake() }
        for seq in 1...3 { #expect(outbox.push(Self.live(Int64(seq)))) }
        #expect(!outbox.push(Self.live(4)))
        #expect(outbox.overflowed)
        #expect(outbox.abortingClose?.code == 1013)
        let batch = outbox.take()
        #expect(batch.frames.isEmpty)
        #expect(batch.close?.code == 1013)
        #expect(batch.close?.drainFirst == false)
        #expect(!outbox.push(Self.live(5)))
    }

    @Test func aDrainingCloseComesAfterWhatIsQueued() {
        let outbox = Outbox(capacity: 8) {}
        outbox.push(Self.live(1))
        outbox.requestClose(CloseRequest(code: 1001, reason: "server shutting down", drainFirst: true))
        outbox.requestClose(CloseRequest(code: 1008, reason: "second request loses", drainFirst: false))
        #expect(outbox.abortingClose == nil)
        let batch = outbox.take()
        #expect(Self.seqs(batch) == [1])
        #expect(batch.close?.code == 1001)
        #expect(!outbox.push(Self.live(2)))
    }

    @Test func aFinishedOutboxRefusesFramesAndNeverWakes() {
        let wakes = Wakes()
        let outbox = Outbox(capacity: 8) { wakes.wake() }
        outbox.finish()
        #expect(!outbox.push(Self.live(1)))
        outbox.requestClose(CloseRequest(code: 1001, reason: "", drainFirst: true))
        #expect(wakes.value == 0)
    }
}
