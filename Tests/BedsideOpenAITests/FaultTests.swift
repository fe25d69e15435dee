import BedsideCore
import BedsideOpenAI
import BedsideTestSupport
import Testing

@Suite struct FaultTests {
    private func model(_ server: FakeOpenAIServer, attempts: Int = 3) -> OpenAIModel {
        OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test"), attempts: attempts))
    }

    @Test func rateLimitHonoursRetryAfterThenSucceeds() async throws {
        let server = try await FakeOpenAIServer([.status(429, retryAfter: "1"), .stream([textChunk("ok"), finishChunk("stop")])])
        let model = model(server)
        let (events, error) = await collect(model)
        #expect(error == nil)
        #expect(events.first == .textDelta("ok"))
        let received = server.received
        #expect(received.count == 2)
        if received.count == 2 { #expect(received[1].at - received[0].at >= .milliseconds(950)) }
        try await model.shutdown()
        await server.stop()
    }

    @Test func serverErrorsAreRetried() async throws {
        let server = try await FakeOpenAIServer([.status(500), .status(500), .stream([textChunk("ok"), finishChunk("stop")])])
        let model = model(server)
        let (events, error) = await collect(model)
        #expect(error == nil)
        #expect(events.first == .textDelta("ok"))
        #expect(server.received.count == 3)
        try await model.shutdown()
        await server.stop()
    }

    @Test func serverErrorsExhaustRetries() async throws {
        let server = try await FakeOpenAIServer([.status(503), .status(503)])
        let model = model(server, attempts: 2)
        let (_, error) = await collect(model)
        let modelError = try #require(error as? ModelError)
        #expect(modelError.code == .error)
        #expect(modelError.httpStatus == 503)
        try await model.shutdown()
        await server.stop()
    }

    @Test func unauthorizedIsUnavailableWithAnActionableMessage() async throws {
        let server = try await FakeOpenAIServer([.status(401)])
        let model = model(server)
        let (_, error) = await collect(model)
        let modelError = try #require(error as? ModelError)
        #expect(modelError.code == .unavailable)
        #expect(modelError.message == "401 from the model endpoint: check OPENAI_API_KEY")
        #expect(server.received.count == 1)
        try await model.shutdown()
        await server.stop()
    }

    @Test func malformedChunkIsAnError() async throws {
        let server = try await FakeOpenAIServer([.stream([textChunk("a"), "{not json"])])
        let model = model(server)
        let (events, error) = await collect(model)
        #expect(events == [.textDelta("a")])
        let modelError = try #require(error as? ModelError)
        #expect(modelError.message.hasPrefix("The model endpoint sent a malformed stream chunk"))
        try await model.shutdown()
        await server.stop()
    }

    @Test func connectionCutMidStreamIsAnError() async throws {
        let server = try await FakeOpenAIServer([.stream([textChunk("a"), textChunk("b"), textChunk("c")], cut: 2)])
        let model = model(server)
        let (events, error) = await collect(model)
        // The client may drop bytes still in flight when the connection resets, so only a prefix is certain.
        #expect(!events.isEmpty && [ModelStreamEvent.textDelta("a"), .textDelta("b")].starts(with: events))
        let modelError = try #require(error as? ModelError)
        #expect(modelError.code == .error)
        #expect(server.received.count == 1)
        try await model.shutdown()
        await server.stop()
    }

    @Test func stalledStreamFailsWithinTheStallTimeout() async throws {
        // The first chunk comes after 300 ms and the next would come 30 s later. The 200 ms stall
        // timeout must end the stream about 500 ms in: neither at the 20 s first-token deadline nor
        // when the server resumes. The bound is loose because the suite shares two cores with
        // whatever else the machine runs.
        let server = try await FakeOpenAIServer([
            .stream([textChunk("a"), textChunk("b")], lead: .milliseconds(300), pause: .seconds(30))
        ])
        var configuration = testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test"))
        configuration.timeouts.firstToken = .seconds(20)
        configuration.timeouts.stalledStream = .milliseconds(200)
        let model = OpenAIModel(configuration: configuration)
        let start = ContinuousClock.now
        let (events, error) = await collect(model)
        #expect(ContinuousClock.now - start < .seconds(15))
        #expect(events == [.textDelta("a")])
        let modelError = try #require(error as? ModelError)
        #expect(modelError.message.contains("stalled"))
        try await model.shutdown()
        await server.stop()
    }

    @Test func connectionRefusedIsUnavailable() async throws {
        let server = try await FakeOpenAIServer([])
        let url = server.baseURL
        await server.stop()
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: url, apiKey: nil), attempts: 2))
        let (_, error) = await collect(model)
        let modelError = try #require(error as? ModelError)
        #expect(modelError.code == .unavailable)
        #expect(modelError.message.contains("Cannot connect to \(url)/chat/completions: is the model server running?"))
        try await model.shutdown()
    }

    @Test func cancelLatencyOfTheConsumerIsUnder100ms() async throws {
        let server = try await FakeOpenAIServer([.stream([textChunk("a"), textChunk("b")], pause: .seconds(5))])
        let configuration = OpenAIConfiguration(
            provider: .openAI(baseURL: server.baseURL, apiKey: "sk-test"),
            model: "gpt-test",
            timeouts: .init(stalledStream: .seconds(30))
        )
        let model = OpenAIModel(configuration: configuration)
        let (firstDelta, firstContinuation) = AsyncStream.makeStream(of: Void.self)
        let consumer = Task {
            for try await _ in model.stream(ModelRequest(model: "gpt-test", messages: [.user("hi")])) {
                firstContinuation.yield()
            }
        }
        for await _ in firstDelta { break }
        let start = ContinuousClock.now
        consumer.cancel()
        _ = await consumer.result
        #expect(ContinuousClock.now - start < .milliseconds(100))
        try await model.shutdown()
        await server.stop()
    }
}
