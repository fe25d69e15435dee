import BedsideAgent
import BedsideCore
import Testing

/// The machine's `fail` input: how the driver ends a turn that timed out or has no tools.
@Suite struct MachineFailTests {
    @Test func failingWhileStreamingKeepsTheRequestsUsageAndNoFinalText() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.stream([.textDelta("HbA1c"), .usage(TokenUsage(promptTokens: 30, completionTokens: 1))])
        let actions = machine.handle(.fail(.turnTimedOut(limit: .seconds(300))), at: .seconds(300))
        #expect(
            actions == [
                .endTurn(
                    .init(
                        outcome: .failed(.turnTimedOut(limit: .seconds(300))),
                        usage: TokenUsage(promptTokens: 30, completionTokens: 1),
                        modelRequests: 1,
                        duration: .seconds(300)
                    )
                )
            ]
        )
        #expect(machine.isFinished)
    }

    @Test func failingWhileToolsRunEndsTheTurnAndLateResultsAreIgnored() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.respond(withToolCalls: [patientCall], at: .seconds(1))
        #expect(
            machine.handle(.fail(.turnTimedOut(limit: .seconds(2))), at: .seconds(2)).turnEnd?.outcome
                == .failed(.turnTimedOut(limit: .seconds(2)))
        )
        #expect(
            machine.handle(.toolFinished(callID: "call_b", .output(ToolOutput(content: "{}"))), at: .seconds(3)) == [
                .ignored("tool result while finished")
            ]
        )
    }

    @Test func failingBeforeTheStartEndsTheTurnThereAndThen() {
        var machine = makeMachine()
        let end = machine.handle(.fail(.toolsUnavailable(message: "503")), at: .seconds(4)).turnEnd
        #expect(end == .init(outcome: .failed(.toolsUnavailable(message: "503")), usage: .zero, modelRequests: 0, duration: .zero))
        #expect(machine.handle(.start(history: [], userMessage: "Hi", tools: []), at: .seconds(5)) == [.ignored("start while finished")])
    }

    @Test func failingAfterTheEndIsIgnored() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.respond(withText: "Done.", at: .seconds(1))
        #expect(machine.handle(.fail(.turnTimedOut(limit: .seconds(1))), at: .seconds(2)) == [.ignored("failure while finished")])
    }

    @Test func theFailuresSayWhatToDo() {
        #expect(
            AgentMachine.Failure.turnTimedOut(limit: .seconds(300)).message
                == "This turn was still running after 300 s, so Bedside stopped it. Ask a narrower question, or raise the turn timeout."
        )
        #expect(
            AgentMachine.Failure.toolsUnavailable(message: "the FHIR server answered 503").message
                == "Bedside could not list the tools that read patient records, so it cannot answer: the FHIR server answered 503"
        )
    }
}
