public import BedsideCore
public import BedsideProtocol

/// Runs one turn of a session: what answers a user's message.
///
/// The session hub starts a turn when a `message` is accepted, in its own task owned by the
/// session (a dropped connection never cancels it), and cancels that task on `cancel` or at
/// shutdown. The runner reports every step through ``TurnContext/emit(_:traceID:spanID:timestamp:)``,
/// which never waits. Returning ends the turn `completed`; throwing ``TurnFailure`` ends it
/// `failed` with that error shown to the user; cancellation ends it `cancelled`.
public protocol TurnRunner: Sendable {
    /// A short description for `/ready` (e.g. the model in use).
    var description: String { get }

    /// The language model turns use, shown by `/ready`; nil when there is none.
    var languageModel: (any LanguageModel)? { get }

    /// Runs the turn; returns its token totals, if it used a model.
    func run(_ turn: TurnContext) async throws -> TurnUsage
}

extension TurnRunner {
    public var languageModel: (any LanguageModel)? { nil }
}

/// Token totals of a turn, reported on its `completed` event.
public struct TurnUsage: Sendable, Equatable {
    public var promptTokens: Int64
    public var completionTokens: Int64

    public init(promptTokens: Int64 = 0, completionTokens: Int64 = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    public var totalTokens: Int64 { promptTokens + completionTokens }
}

/// A failure the user should see: it becomes a session `error` event with `code`, then the turn
/// ends `failed`. The message must say what to do and must not contain secrets.
public struct TurnFailure: Error, Sendable, Equatable {
    public var code: ErrorCode
    public var message: String

    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }
}

/// What a running turn knows and how it reports: the session, the user's message, and `emit`.
public struct TurnContext: Sendable {
    public let sessionID: SessionID
    public let turnID: String
    /// The user's message, trimmed.
    public let content: String
    /// The seq of the `user` event that started this turn: everything before it is history.
    public let userSeq: Int64
    let session: Session

    /// Why the turn is being cancelled (`cancelled_by_user`, `shutdown`), once it is.
    public var cancellationReason: String { session.cancelReason ?? "cancelled_by_user" }

    /// The session's events before this turn, oldest first, as the store keeps them.
    public func earlierEvents() async throws -> [StoredEvent] {
        try await session.dependencies.store.events(in: sessionID, after: 0, through: userSeq - 1, limit: nil)
    }

    /// The session's conversation before this turn (user messages and final replies, no
    /// deltas), oldest first, as the store keeps it.
    public func earlierConversation() async throws -> [StoredEvent] {
        try await session.dependencies.store.conversation(in: sessionID, through: userSeq - 1)
    }

    /// The session's conversation before this turn as model messages (user messages and final
    /// replies), oldest first: the newest that fit in `characterBudget` characters, stopping at
    /// the first that does not. Kept in memory by the session; the store is read only for what
    /// this process has not seen (a session that began before a restart).
    public func earlierMessages(characterBudget: Int) async throws -> [ChatMessage] {
        try await session.history(before: userSeq, characterBudget: characterBudget)
    }

    /// Emits a session event belonging to this turn: assigns its seq, persists it and sends it
    /// to every connection of the session. Never waits; returns the assigned seq.
    @discardableResult
    public func emit(
        _ payload: EventPayload,
        traceID: String? = nil,
        spanID: String? = nil,
        timestamp: Timestamp? = nil
    ) -> Int64 {
        session.emit(payload, turnID: turnID, traceID: traceID, spanID: spanID, timestamp: timestamp)
    }

    /// Reports the ids of the span that covers the whole turn: the turn's end event carries them.
    public func setTurnSpan(traceID: String, spanID: String) {
        session.setTurnSpan(traceID: traceID, spanID: spanID)
    }

    /// Where the turn's metrics (model requests, tokens, tool durations) are recorded.
    public var metrics: BedsideMetrics { session.dependencies.metrics }
}

/// The runner used when no language model is configured: every turn fails at once with
/// `llm_unavailable` and a message saying how to configure one.
public struct UnconfiguredTurnRunner: TurnRunner {
    public init() {}

    public var description: String { "no language model configured" }

    public func run(_ turn: TurnContext) async throws -> TurnUsage {
        throw TurnFailure(
            code: .llmUnavailable,
            message: "No language model is configured, so Bedside cannot answer this message. "
                + "Configure a model (see the configuration table in the README) and restart Bedside."
        )
    }
}
