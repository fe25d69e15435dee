import Foundation
import Testing

@testable import BedsideOpenAI

/// The chunk scanner reads what `JSONDecoder` reads, or gives up and leaves it to it: for every
/// chunk here, scanning gives the decoder's chunk, or nil where the decoder fails or where the
/// scanner does not handle the form.
@Suite struct ChatChunkScannerTests {
    static let chunks: [String] = [
        #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":"line\nbreak \"quoted\" back\\slash \/ tab\t \u00e9 \ud83e\ude7a"}}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":"日本語 🩺 plain"}}]}"#,
        #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"search_patients","arguments":""}}]}}]}"#,
        #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"name\":\"Smith\"}"}}]}}]}"#,
        #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":null,"function":null}]}}]}"#,
        #"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        #"{"choices":[],"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
        #"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#,
        #"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":null}}"#,
        #"{"choices":null,"usage":null}"#,
        #"  { "choices" : [ { "delta" : { "content" : "spaced" } , "finish_reason" : "stop" } ] }  "#,
        #"{"extra":[1,-2.5e3,true,false,null,{"deep":[[[]]]},"s"],"choices":[{"delta":{"content":"after extras"}}]}"#,
        #"{}"#,
        // Forms the decoder judges: errors, or values the scanner leaves to it.
        #"{"choices":[{"delta":{"content":5}}]}"#,
        #"{"choices":[{"delta":{"tool_calls":[{"id":"no index"}]}}]}"#,
        #"{"choices":[{"delta":{"tool_calls":[{"index":1.0}]}}]}"#,
        #"{"choices":[],"usage":{"prompt_tokens":"1","completion_tokens":2}}"#,
        #"{"choices":[{"delta":{"content":"unterminated}}]}"#,
        #"{"choices":[{"delta":{"content":"lone \ud83e surrogate"}}]}"#,
        #"{"choices":[]} trailing"#,
        #"{"choices":[],}"#,
        #"not json"#,
        "",
        #"{"choices":[{"delta":{"content":"x"}}]"#,
    ]

    @Test(arguments: chunks)
    func scanningAgreesWithTheDecoder(_ chunk: String) {
        let decoded = try? JSONDecoder().decode(ChatChunk.self, from: Data(chunk.utf8))
        let scanned = ChatChunkScanner.chunk(in: chunk)
        if let scanned {
            #expect(scanned == decoded)
        } else {
            // Left to the decoder: the reader's answer is the decoder's.
            #expect((try? ChatCompletionsChunkReader().events(inChunk: chunk)) == decoded?.events)
        }
    }

    /// The forms a model sends while streaming are all read by the scanner itself.
    @Test func everyStreamedFormIsScanned() {
        for chunk in Self.chunks.prefix(15) {
            #expect(ChatChunkScanner.chunk(in: chunk) != nil, "\(chunk)")
        }
    }

    /// A key given twice keeps its first value, as the decoder reads it.
    @Test func aRepeatedKeyKeepsItsFirstValue() throws {
        let chunk =
            #"{"choices":[{"delta":{"content":null,"content":"second"}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"prompt_tokens":9}}"#
        let decoded = try JSONDecoder().decode(ChatChunk.self, from: Data(chunk.utf8))
        #expect(ChatChunkScanner.chunk(in: chunk) == decoded)
        #expect(decoded.usage?.promptTokens == 1 && decoded.choices?.first?.delta?.content == nil)
    }

    /// Random slices of valid chunks: the scanner never accepts what the decoder refuses, and
    /// never reads a chunk differently.
    @Test func truncatedAndSplicedChunksNeverDisagree() {
        var generator = SystemRandomNumberGenerator()
        let valid = Self.chunks.prefix(15)
        for _ in 0..<20_000 {
            let source = Array(valid.randomElement(using: &generator)!.utf8)
            let cut = Int.random(in: 0...source.count, using: &generator)
            let other = Array(valid.randomElement(using: &generator)!.utf8)
            let from = Int.random(in: 0...other.count, using: &generator)
            let text = String(decoding: source[..<cut] + other[from...], as: UTF8.self)
            let decoded = try? JSONDecoder().decode(ChatChunk.self, from: Data(text.utf8))
            if let scanned = ChatChunkScanner.chunk(in: text) {
                #expect(scanned == decoded, "\(text)")
            }
        }
    }
}
