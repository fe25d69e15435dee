public import BedsideCore

extension AgentMachine {
    /// How a turn ended, with what it cost: the payload of ``Action/endTurn(_:)``.
    public struct TurnEnd: Sendable, Hashable {
        public var outcome: Outcome
        /// Tokens summed over every model request of the turn.
        public var usage: TokenUsage
        /// How many model requests the turn made.
        public var modelRequests: Int
        /// From ``Input/start(history:userMessage:tools:)`` to the input that ended the turn.
        public var duration: Duration

        public init(outcome: Outcome, usage: TokenUsage, modelRequests: Int, duration: Duration) {
            self.outcome = outcome
            self.usage = usage
            self.modelRequests = modelRequests
            self.duration = duration
        }
    }

    /// The three ways a turn ends.
    public enum Outcome: Sendable, Hashable {
        /// The model answered.
        case completed
        /// The turn was cancelled for `reason` (`cancelled_by_user`, `shutdown`).
        case cancelled(reason: String)
        /// The turn could not be finished.
        case failed(Failure)
    }

    /// Why a turn failed, with a message a person can act on.
    public enum Failure: Sendable, Hashable {
        /// A model request failed; its code tells `llm_unavailable` from `llm_error`.
        case model(ModelError)
        /// The model still asked for tools after `limit` requests in one turn.
        case tooManyModelRequests(limit: Int)
        /// The turn was still running when its time limit passed.
        case turnTimedOut(limit: Duration)
        /// The toolset could not list its tools; `message` says why.
        case toolsUnavailable(message: String)

        public var message: String {
            switch self {
            case .turnTimedOut(let limit):
                "This turn was still running after \(limit.spokenForm), so Bedside stopped it. "
                    + "Ask a narrower question, or raise the turn timeout."
            case .toolsUnavailable(let message):
                "Bedside could not list the tools that read patient records, so it cannot answer: \(message)"

            case .model(let error):
                error.message
            case .tooManyModelRequests(let limit):
                "The model was still asking for tools after \(limit) requests, so Bedside stopped this turn "
                    + "without an answer. Ask a narrower question, or raise the limit on model requests per turn."
            }
        }
    }
}
