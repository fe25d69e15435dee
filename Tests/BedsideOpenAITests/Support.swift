import BedsideCore
import BedsideOpenAI

/// Short timeouts and retry delays so fault tests finish quickly.
func testConfiguration(_ provider: OpenAIConfiguration.Provider, attempts: Int = 3) -> OpenAIConfiguration {
    OpenAIConfiguration(
        provider: provider,
        model: "gpt-test",
        timeouts: .init(connect: .seconds(2), firstToken: .seconds(2), stalledStream: .milliseconds(200)),
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

/// A `data:` payload carrying a text delta.
func textChunk(_ text: String) -> String {
    #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\#(text)"},"finish_reason":null}]}"#
}

/// A `data:` payload carrying a finish reason.
func finishChunk(_ reason: String) -> String {
    #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"\#(reason)"}]}"#
}

/// The usage payload OpenAI sends last when `include_usage` is on.
let usageChunk =
    #"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#

/// A payload with one tool call fragment.
func toolChunk(index: Int, id: String? = nil, name: String? = nil, arguments: String) -> String {
    let escaped = arguments.replacingOccurrences(of: "\"", with: "\\\"")
    var function = #""arguments":"\#(escaped)""#
    if let name { function = #""name":"\#(name)","# + function }
    let idPart = id.map { #""id":"\#($0)","type":"function","# } ?? ""
    return
        #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":\#(index),\#(idPart)"function":{\#(function)}}]},"finish_reason":null}]}"#
}
