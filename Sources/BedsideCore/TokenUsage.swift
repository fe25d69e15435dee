/// The tokens one or more model requests used, as the provider reported them.
public struct TokenUsage: Sendable, Hashable {
    public var promptTokens: Int64
    public var completionTokens: Int64
    /// The provider's total; usually, but not always, prompt plus completion tokens.
    public var totalTokens: Int64

    public init(promptTokens: Int64, completionTokens: Int64, totalTokens: Int64) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }

    /// Prompt and completion tokens, with their sum as the total.
    public init(promptTokens: Int64, completionTokens: Int64) {
        self.init(promptTokens: promptTokens, completionTokens: completionTokens, totalTokens: promptTokens + completionTokens)
    }

    /// No tokens.
    public static let zero = TokenUsage(promptTokens: 0, completionTokens: 0, totalTokens: 0)

    /// The usage of two sets of requests together.
    public static func + (lhs: TokenUsage, rhs: TokenUsage) -> TokenUsage {
        TokenUsage(
            promptTokens: lhs.promptTokens + rhs.promptTokens,
            completionTokens: lhs.completionTokens + rhs.completionTokens,
            totalTokens: lhs.totalTokens + rhs.totalTokens
        )
    }

    public static func += (lhs: inout TokenUsage, rhs: TokenUsage) {
        lhs = lhs + rhs
    }
}
