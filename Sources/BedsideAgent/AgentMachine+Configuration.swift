extension AgentMachine {
    /// What a turn's machine is set up with; the same for every turn of a server.
    public struct Configuration: Sendable, Hashable {
        /// The model named in every request, e.g. `gpt-4o-mini`.
        public var model: String
        /// The first message of every request. Default: ``AgentMachine/clinicalSystemPrompt``.
        public var systemPrompt: String
        /// The most model requests one turn may make, at least 1. Default: 8.
        public var maxModelRequests: Int
        /// The most tokens one model response may generate, sent with every request
        /// (`max_tokens` or `max_completion_tokens` on the OpenAI wire); nil sends no limit.
        /// Default: ``defaultMaxOutputTokens`` (4096), as `--max-output-tokens`.
        public var maxOutputTokens: Int?
        /// The most tool calls of one model response that run, at least 1. The calls beyond it
        /// are not run: each still gets its `tool_call` and an error `tool_result` that tells the
        /// model why, so every call id has a result. Default: ``defaultMaxToolCallsPerResponse``
        /// (8), as `--max-tool-calls-per-response`.
        public var maxToolCallsPerResponse: Int

        public init(
            model: String,
            systemPrompt: String = AgentMachine.clinicalSystemPrompt,
            maxModelRequests: Int = 8,
            maxOutputTokens: Int? = Configuration.defaultMaxOutputTokens,
            maxToolCallsPerResponse: Int = Configuration.defaultMaxToolCallsPerResponse
        ) {
            self.model = model
            self.systemPrompt = systemPrompt
            self.maxModelRequests = max(1, maxModelRequests)
            self.maxOutputTokens = maxOutputTokens.map { max(1, $0) }
            self.maxToolCallsPerResponse = max(1, maxToolCallsPerResponse)
        }

        /// The output budget of a model request unless configured otherwise: 4096 tokens.
        public static let defaultMaxOutputTokens = 4096
        /// The tool calls of one response that run unless configured otherwise: 8.
        public static let defaultMaxToolCallsPerResponse = 8
    }

    /// The system prompt of Bedside's clinical agent: answer only from tool results, name the
    /// records used, and say plainly when the data does not hold the answer.
    public static let clinicalSystemPrompt = """
        You are Bedside, an assistant for clinicians. You answer questions about patients using \
        only the FHIR records that your tools return.

        Rules:
        - Before answering a question about a patient, call the tools to fetch the relevant \
        records. Never answer from memory or general knowledge about this patient.
        - Every statement about a patient must come from a tool result in this conversation. \
        Do not guess, infer unrecorded values or fill gaps.
        - Say which records you used: name the resource type and id of each \
        (for example Observation/obs-123), and the date of each value you quote.
        - When the records do not contain what was asked, say so plainly, say what you looked \
        for, and do not substitute an answer.
        - When a tool reports an error, say that the data could not be retrieved; do not answer \
        as if it were missing.
        - Keep answers short and clinical: values with their units and dates, most recent first.
        - You do not make diagnoses or treatment decisions; the clinician does.
        """
}
