import Foundation

// Chat Completions payloads in the OpenAI streaming wire format, for the fake server.

/// A `data:` payload carrying a text delta.
public func textChunk(_ text: String) -> String {
    #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\#(text)"},"finish_reason":null}]}"#
}

/// A `data:` payload carrying a finish reason.
public func finishChunk(_ reason: String) -> String {
    #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"\#(reason)"}]}"#
}

/// The usage payload OpenAI sends last when `include_usage` is on.
public let usageChunk =
    #"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#

/// A payload with one tool call fragment.
public func toolChunk(index: Int, id: String? = nil, name: String? = nil, arguments: String) -> String {
    let escaped = arguments.replacingOccurrences(of: "\"", with: "\\\"")
    var function = #""arguments":"\#(escaped)""#
    if let name { function = #""name":"\#(name)","# + function }
    let idPart = id.map { #""id":"\#($0)","type":"function","# } ?? ""
    return
        #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":\#(index),\#(idPart)"function":{\#(function)}}]},"finish_reason":null}]}"#
}

/// A usage payload with these token counts.
public func usageChunk(prompt: Int, completion: Int) -> String {
    #"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion)}}"#
}
