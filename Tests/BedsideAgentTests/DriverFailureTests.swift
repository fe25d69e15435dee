import BedsideAgent
import BedsideCore
import Testing

@Suite struct DriverFailureTests {
    @Test func aModelErrorEndsTheTurnFailedWithIt() async {
        let error = ModelError(code: .unavailable, httpStatus: 401, message: "401 from the model endpoint: check OPENAI_API_KEY")
        let model = ScriptedModel([[.fail(error)]])
        let log = EventLog()
        let end = await makeDriver(model, RecordingToolset([:])).run(into: log)
        #expect(end.outcome == .failed(.model(error)))
        #expect(log.labels == ["model call started", "turn ended failed"])
    }

    @Test func anyOtherModelFailureIsAModelError() async {
        let model = ScriptedModel([[.text("HbA1c"), .fail(ToolFailure(message: "connection reset"))]])
        let end = await makeDriver(model, RecordingToolset([:])).run(into: EventLog())
        #expect(end.outcome == .failed(.model(ModelError(code: .error, message: "The model request failed: connection reset"))))
    }

    @Test func aTurnStillRunningAtItsTimeoutEndsFailed() async {
        let model = ScriptedModel([[.text("HbA1c "), .pause(.seconds(30))]])
        let log = EventLog()
        // The limit is far below the model's 30 s pause but leaves the first delta time to arrive on a busy machine.
        let end = await makeDriver(model, RecordingToolset([:]), turnTimeout: .milliseconds(600)).run(into: log)
        #expect(end.outcome == .failed(.turnTimedOut(limit: .milliseconds(600))))
        #expect(AgentMachine.Failure.turnTimedOut(limit: .milliseconds(80)).message.hasPrefix("This turn was still running after 80 ms"))
        // The delta may or may not have been seen before the limit; the turn ends failed either way.
        #expect(log.labels.first == "model call started")
        #expect(log.labels.last == "turn ended failed")
        #expect(model.cancelledStreams == 1)
    }

    @Test func toolsThatCannotBeListedEndTheTurnBeforeAnyModelRequest() async {
        let model = ScriptedModel([])
        let tools = RecordingToolset([:], definitionsError: ToolFailure(message: "the FHIR server answered 503"))
        let end = await makeDriver(model, tools).run(into: EventLog())
        #expect(end.outcome == .failed(.toolsUnavailable(message: "the FHIR server answered 503")))
        #expect(AgentMachine.Failure.toolsUnavailable(message: "503").message.hasSuffix("so it cannot answer: 503"))
        #expect(model.requests.isEmpty)
        #expect(end.modelRequests == 0)
    }
}
