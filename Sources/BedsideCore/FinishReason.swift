/// Why a model stopped generating, as the provider named it (`stop`, `tool_calls`, …).
///
/// A struct rather than an enum because providers add reasons of their own; the wire
/// `finish_reason` of an `openai_response` event is ``rawValue`` unchanged.
public struct FinishReason: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The model finished its answer.
    public static let stop = FinishReason(rawValue: "stop")
    /// The model stopped to let tools run.
    public static let toolCalls = FinishReason(rawValue: "tool_calls")
    /// The response reached the token limit and was cut off.
    public static let length = FinishReason(rawValue: "length")
    /// The provider withheld content.
    public static let contentFilter = FinishReason(rawValue: "content_filter")

    public var description: String { rawValue }
}
