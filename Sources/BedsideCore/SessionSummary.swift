/// What the conversation list shows of one session: its title, when it was created and last
/// active, how many turns it has had and how the last one ended.
public struct SessionSummary: Sendable, Hashable {
    public var id: SessionID
    /// The rename, or the first user message cut to ``SessionSummary/titleLength`` characters;
    /// nil before the first message.
    public var title: String?
    /// When the session's first event was stored, in microseconds since 1970.
    public var createdMicros: Int64
    /// When the last message or turn boundary was stored, in microseconds since 1970.
    public var lastActivityMicros: Int64
    public var turnCount: Int
    /// `started`, `completed`, `cancelled` or `failed`; nil before the first turn.
    public var lastTurnStatus: String?

    /// The characters of the first message a title keeps.
    public static let titleLength = 80

    public init(
        id: SessionID,
        title: String?,
        createdMicros: Int64,
        lastActivityMicros: Int64,
        turnCount: Int,
        lastTurnStatus: String?
    ) {
        self.id = id
        self.title = title
        self.createdMicros = createdMicros
        self.lastActivityMicros = lastActivityMicros
        self.turnCount = turnCount
        self.lastTurnStatus = lastTurnStatus
    }

    /// The title a first message gives: its first line, cut to ``titleLength`` characters.
    public static func title(fromMessage content: String) -> String {
        let firstLine = content.split(whereSeparator: \.isNewline).first.map(String.init) ?? content
        return firstLine.count > titleLength ? String(firstLine.prefix(titleLength - 1)) + "…" : firstLine
    }
}

/// Where a page of the conversation list ends: the next page starts after it.
public struct SessionCursor: Sendable, Hashable {
    public var lastActivityMicros: Int64
    public var rawID: String

    public init(lastActivityMicros: Int64, rawID: String) {
        self.lastActivityMicros = lastActivityMicros
        self.rawID = rawID
    }

    /// `<micros>.<id>`, as the `next` member of `GET /sessions` gives it.
    public var text: String { "\(lastActivityMicros).\(rawID)" }

    public init?(text: some StringProtocol) {
        guard let dot = text.firstIndex(of: "."), let micros = Int64(text[..<dot]),
            SessionID.isValid(text[text.index(after: dot)...])
        else { return nil }
        self.init(lastActivityMicros: micros, rawID: String(text[text.index(after: dot)...]))
    }
}

/// A principal's conversations as a store keeps them: the list, renames and deletion.
///
/// A store keeps a summary per session as events are appended (only `user` and `turn` events
/// change it). Deleting a session removes its events and summary but never its access audit.
public protocol SessionDirectory: Sendable {
    /// The sessions of `owner`, most recently active first, after `cursor`, at most `limit`.
    func sessions(owner: String, after cursor: SessionCursor?, limit: Int) async throws -> [SessionSummary]

    /// The summary of `session`, or nil when it has no events.
    func summary(of session: SessionID) async throws -> SessionSummary?

    /// Sets the title of `session`; nil when it has no events.
    func rename(_ session: SessionID, title: String) async throws -> SessionSummary?

    /// Removes the events and summary of `session`; false when it had none.
    func delete(_ session: SessionID) async throws -> Bool
}
