import BedsideAgent
import BedsideCore
import Testing

/// Inputs that make no sense in the machine's state change nothing and come back as
/// `.ignored`, so a late or duplicate report from the driver can never crash a turn.
@Suite struct UnexpectedInputTests {
    @Test func aResultForAnUnknownCallIsIgnoredAndTheRoundStillCompletes() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.respond(withToolCalls: [observationCall], at: .seconds(1))
        #expect(
            machine.handle(.toolFinished(callID: "call_zz", .output(ToolOutput(content: "?"))), at: .seconds(2))
                == [.ignored("tool result for unknown call call_zz while running tools of model request 1")]
        )
        #expect(
            machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]"))), at: .seconds(2)).modelRequests.count == 1
        )
    }

    @Test func aSecondResultForTheSameCallIsIgnored() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.respond(withToolCalls: [observationCall, patientCall], at: .seconds(1))
        _ = machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]"))), at: .seconds(2))
        #expect(
            machine.handle(.toolFinished(callID: "call_a", .timedOut(after: .seconds(10))), at: .seconds(3))
                == [.ignored("second tool result for call call_a while running tools of model request 1")]
        )
        let next = machine.handle(.toolFinished(callID: "call_b", .output(ToolOutput(content: "{}"))), at: .seconds(3))
        #expect(next.modelRequests.first?.messages.contains(.tool(callID: "call_a", content: "[]", isError: false)) == true)
    }

    @Test func inputsBeforeTheTurnStartsAreIgnored() {
        var machine = makeMachine()
        #expect(machine.handle(.modelEvent(.textDelta("x")), at: .zero) == [.ignored("model event while idle")])
        #expect(machine.handle(.modelStreamEnded, at: .zero) == [.ignored("model stream end while idle")])
        #expect(machine.handle(.modelFailed(ModelError(code: .error, message: "x")), at: .zero) == [.ignored("model failure while idle")])
        #expect(machine.handle(.toolFinished(callID: "c", .failed(message: "x")), at: .zero) == [.ignored("tool result while idle")])
        #expect(machine.start().modelRequests.count == 1)
    }

    @Test func modelInputsWhileToolsRunAndASecondStartAreIgnored() {
        var machine = makeMachine()
        _ = machine.start()
        #expect(machine.start() == [.ignored("start while streaming model request 1")])
        _ = machine.respond(withToolCalls: [observationCall], at: .seconds(1))
        #expect(
            machine.handle(.modelEvent(.textDelta("x")), at: .seconds(1)) == [
                .ignored("model event while running tools of model request 1")
            ]
        )
        #expect(machine.handle(.modelStreamEnded, at: .seconds(1)).count == 1)
        #expect(!machine.isFinished)
    }

    @Test func usageAddsUp() {
        var total = TokenUsage.zero
        total += TokenUsage(promptTokens: 1, completionTokens: 2)
        total += TokenUsage(promptTokens: 3, completionTokens: 4, totalTokens: 9)
        #expect(total == TokenUsage(promptTokens: 4, completionTokens: 6, totalTokens: 12))
    }
}
