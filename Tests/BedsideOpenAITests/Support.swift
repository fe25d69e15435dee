import BedsideCore
import BedsideOpenAI
import BedsideTestSupport

/// Short retry delays so fault tests finish quickly; timeouts short enough for the fault tests
/// and long enough never to fire on a busy machine (the stall test sets its own).
func testConfiguration(_ provider: OpenAIConfiguration.Provider, attempts: Int = 3) -> OpenAIConfiguration {
    OpenAIConfiguration(
        provider: provider,
        model: "gpt-test",
        timeouts: .init(connect: .seconds(5), firstToken: .seconds(5), stalledStream: .seconds(5)),
        retry: .init(maxAttempts: attempts, baseDelay: .milliseconds(20), maxDelay: .milliseconds(100))
    )
}

/// Runs one request to completion and returns its events, or the error it ended with.
func collect(
    _ model: OpenAIModel,
    _ request: ModelRequest = ModelRequest(model: "gpt-test", messages: [.user("hi")])
) async
    -> ([ModelStreamEvent], (any Error)?)
{
    var events: [ModelStreamEvent] = []
    do {
        for try await event in model.stream(request) { events.append(event) }
        return (events, nil)
    } catch {
        return (events, error)
    }
}
