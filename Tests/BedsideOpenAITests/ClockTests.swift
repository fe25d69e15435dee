import BedsideCore
import BedsideOpenAI
import BedsideTestSupport
import Testing

/// The model's retries and stall timeout wait on the clock it is given: on a ``TestClock``
/// they pass only when the test moves the clock, and at once when it does.
@Suite struct ClockTests {
    @Test func retryAfterWaitsOnTheModelsClock() async throws {
        let server = try await FakeOpenAIServer([.status(429, retryAfter: "30"), .stream([textChunk("ok"), finishChunk("stop")])])
        let clock = TestClock()
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test")), clock: clock)
        let request = Task { await collect(model) }
        // Thirty seconds on the clock, as Retry-After says; nothing is sent meanwhile.
        try await clock.waitForSleeper { $0 == .seconds(30) }
        #expect(server.received.count == 1)
        clock.advance(by: .seconds(30))
        let (events, error) = await request.value
        #expect(error == nil)
        #expect(events.first == .textDelta("ok"))
        #expect(server.received.count == 2)
        try await model.shutdown()
        await server.stop()
    }

    @Test func aStalledStreamFailsWhenTheClockPassesTheStallTimeout() async throws {
        let server = try await FakeOpenAIServer([.stream([textChunk("a"), textChunk("b")], pause: .seconds(30))])
        var configuration = testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test"))
        configuration.timeouts.firstToken = .seconds(60)
        configuration.timeouts.stalledStream = .seconds(10)
        let clock = TestClock()
        let model = OpenAIModel(configuration: configuration, clock: clock)
        let (firstEvent, sawFirst) = AsyncStream.makeStream(of: Void.self)
        let reading = Task {
            var events: [ModelStreamEvent] = []
            do {
                for try await event in model.stream(ModelRequest(model: "gpt-test", messages: [.user("hi")])) {
                    events.append(event)
                    sawFirst.yield()
                }
                return (events, nil as ModelError?)
            } catch {
                return (events, error as? ModelError)
            }
        }
        for await _ in firstEvent { break }
        // The watch sleeps one stall period from the start of the stream; the data came at 0 s.
        try await clock.waitForSleeper { $0 == .seconds(10) }
        clock.advance(by: .seconds(10))
        let (events, error) = await reading.value
        #expect(events == [.textDelta("a")])
        let modelError = try #require(error)
        #expect(modelError.message == "The model stream stalled: no data for 10.0 seconds")
        try await model.shutdown()
        await server.stop()
    }
}
