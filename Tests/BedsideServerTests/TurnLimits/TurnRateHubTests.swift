import BedsideCore
import Testing

@testable import BedsideServer

/// Turns per rate key per minute, through the session hub with a manual clock: what is refused,
/// what the refusal says, and that a refused message leaves no trace.
@Suite struct TurnRateHubTests {
    /// Runs `count` turns on `connection`, one second apart on the rig's clock.
    private func runTurns(_ count: Int, on connection: HubConnection, rig: HubRig, prefix: String) async throws {
        for index in 1...count {
            await connection.send("\(prefix) \(index)", id: "\(prefix)-\(index)")
            let events = try await connection.receiveTurn()
            #expect(events.first?.type == "user")
            #expect(events.last?.status == "completed")
            rig.clock.advance(by: .seconds(1))
        }
    }

    @Test func atTheDefaultTheThirtyFirstTurnOfAMinuteIsRefusedAndLeavesNoTrace() async throws {
        let rig = HubRig.start(limits: ServerLimits())
        let session = newSessionID()
        let connection = try await rig.connect(session)
        try await runTurns(30, on: connection, rig: rig, prefix: "q")
        // 30 s on the clock: the first turn leaves the window in 30 s.
        await connection.send("one too many", id: "late-1")
        let refusal = try await connection.receive()
        #expect(refusal.type == "error")
        #expect(refusal.code == "too_many_turns")
        #expect(refusal.seq == nil)
        #expect(refusal["retry_after_ms"]?.integerValue == 30_000)
        #expect(refusal["error"]?.stringValue == "You have started 30 turns in the last minute: wait 30 s.")
        try await connection.expectSilence()
        // A resend of an accepted message is still answered, and does not count.
        await connection.send("q 1", id: "q-1")
        let echo = try await connection.receive()
        #expect(echo.type == "user" && echo.seq == 1)
        #expect(try rig.refusals(.turnsPerMinute) == 1)

        // Nothing of the refused message was stored, and its id was not consumed.
        let id = try #require(SessionID(session))
        let stored = try await rig.store.events(in: id, after: 0, through: nil, limit: nil)
        #expect(!stored.contains { $0.json.contains("one too many") })
        #expect(stored.filter { $0.type == "user" }.count == 30)
        rig.clock.advance(by: .milliseconds(29_999))
        await connection.send("one too many", id: "late-1")
        #expect(try await connection.receive()["retry_after_ms"]?.integerValue == 1)
        rig.clock.advance(by: .milliseconds(1))
        await connection.send("one too many", id: "late-1")
        let accepted = try await connection.receiveTurn()
        #expect(accepted.first?.type == "user")
        #expect(accepted.first?["client_message_id"]?.stringValue == "late-1")
        #expect(accepted.first?.seq == stored.last.map { $0.seq + 1 })
        #expect(try rig.refusals(.turnsPerMinute) == 2)
        await connection.close()
        try await rig.stop()
    }

    @Test func aConfiguredLimitCountsEverySessionOfTheKeyAndTurnsNobodyWatches() async throws {
        let rig = HubRig.start(limits: ServerLimits(maxTurnsPerMinute: 3))
        let first = try await rig.connect(newSessionID(), rateKey: "alice")
        try await runTurns(1, on: first, rig: rig, prefix: "a")
        // A turn that runs on after its only connection has gone still counts.
        let unwatched = try await rig.connect(newSessionID(), rateKey: "alice")
        await unwatched.send("wait")
        #expect(try await unwatched.receive().type == "user")
        await unwatched.close()
        let third = try await rig.connect(newSessionID(), rateKey: "alice")
        try await runTurns(1, on: third, rig: rig, prefix: "c")
        let fourth = try await rig.connect(newSessionID(), rateKey: "alice")
        await fourth.send("d")
        let refusal = try await fourth.receive()
        #expect(refusal.code == "too_many_turns")
        #expect(refusal["retry_after_ms"]?.integerValue == 58_000)
        #expect(refusal["error"]?.stringValue == "You have started 3 turns in the last minute: wait 58 s.")
        // Another key is not affected.
        let bob = try await rig.connect(newSessionID(), rateKey: "bob")
        try await runTurns(1, on: bob, rig: rig, prefix: "b")
        #expect(try rig.refusals(.turnsPerMinute) == 1)
        for connection in [first, third, fourth, bob] { await connection.close() }
        try await rig.stop()
    }

    @Test func zeroOrNoRateKeyIsNotLimited() async throws {
        let unlimited = HubRig.start(limits: ServerLimits(maxTurnsPerMinute: 0))
        let connection = try await unlimited.connect(newSessionID())
        try await runTurns(40, on: connection, rig: unlimited, prefix: "u")
        await connection.close()
        try await unlimited.stop()

        let limited = HubRig.start(limits: ServerLimits(maxTurnsPerMinute: 1))
        let unkeyed = try await limited.connect(newSessionID(), rateKey: nil)
        try await runTurns(3, on: unkeyed, rig: limited, prefix: "i")
        #expect(try limited.refusals(.turnsPerMinute) == 0)
        await unkeyed.close()
        try await limited.stop()
    }
}
