/// One read of patient data by a tool: which session, turn and tool call, which patients and
/// which resources. The per-session access audit is a list of these. The principal who read is
/// the session's owner (`sessionID.owner`).
public struct AccessRecord: Sendable, Hashable {
    public var sessionID: SessionID
    public var turnID: String?
    public var toolCallID: String?
    /// The tool that read the data, e.g. `search_clinical`.
    public var tool: String
    /// The patients whose data was read (FHIR `Patient` ids).
    public var patientIDs: [String]
    /// The resources read, as `Type/id`.
    public var resources: [String]
    /// When the read happened, in microseconds since 1970.
    public var timeMicros: Int64

    public init(
        sessionID: SessionID,
        turnID: String?,
        toolCallID: String?,
        tool: String,
        patientIDs: [String],
        resources: [String],
        timeMicros: Int64
    ) {
        self.sessionID = sessionID
        self.turnID = turnID
        self.toolCallID = toolCallID
        self.tool = tool
        self.patientIDs = patientIDs
        self.resources = resources
        self.timeMicros = timeMicros
    }
}

/// Where tools write what patient data they read, per session (`GET /sessions/{id}/audit`).
public protocol AccessAudit: Sendable {
    /// Adds one record; a record is never changed or removed afterwards.
    func record(_ record: AccessRecord) async throws

    /// The records of `session`, oldest first.
    func records(in session: SessionID) async throws -> [AccessRecord]

    /// Every record that read patient `patientID`, in any session of any owner, oldest first.
    func records(patient patientID: String) async throws -> [AccessRecord]
}

/// Who a tool call is made for, set by the turn that runs it and read by tools that audit.
///
/// ```swift
/// try await ToolCallContext.$current.withValue(ToolCallContext(sessionID: id, turnID: turn)) {
///     try await tools.call("search_clinical", arguments: args)
/// }
/// ```
public struct ToolCallContext: Sendable, Hashable {
    public var sessionID: SessionID
    public var turnID: String?
    public var toolCallID: String?

    public init(sessionID: SessionID, turnID: String? = nil, toolCallID: String? = nil) {
        self.sessionID = sessionID
        self.turnID = turnID
        self.toolCallID = toolCallID
    }

    /// The context of the running tool call; nil outside a turn (e.g. a tool called over MCP).
    @TaskLocal public static var current: ToolCallContext?
}
