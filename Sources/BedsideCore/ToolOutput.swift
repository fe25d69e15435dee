/// What a tool answered: the text the model reads, and whether that text reports a failure.
///
/// A tool that cannot do what was asked (an unknown patient, a malformed date) returns
/// `isError: true` with a message the model can act on, rather than throwing: the model sees
/// the message and may try again. Throwing is for failures of the tool itself.
public struct ToolOutput: Sendable, Hashable {
    /// The result as the model will read it.
    public var content: String
    /// Whether `content` describes a failure.
    public var isError: Bool

    public init(content: String, isError: Bool = false) {
        self.content = content
        self.isError = isError
    }
}
