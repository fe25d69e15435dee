import ArgumentParser
import BedsideFHIR
import BedsideMCP
import BedsideOpenAI
import BedsideServer
import Foundation
import Logging

/// The command-line options; each falls back to its environment variable, then to its default.
/// ArgumentParser defaults are deliberately absent so that an unset flag lets the environment speak.
struct Options: ParsableArguments {
    @Option(help: "Interface to listen on. [env: BEDSIDE_HOST] (default: 127.0.0.1)")
    var host: String?

    @Option(help: "TCP port to listen on; 0 picks a free one. [env: BEDSIDE_PORT] (default: 8000)")
    var port: Int?

    @Option(help: "SQLite file for sessions and events. [env: BEDSIDE_DATABASE] (default: ./bedside.sqlite)")
    var database: String?

    @Option(
        help: """
            Comma-separated browser origins allowed to connect besides the server's own, `*` allowed as the port. \
            [env: BEDSIDE_ALLOWED_ORIGINS] (default: none, the server's own origin only)
            """
    )
    var allowedOrigins: String?

    @Option(help: "Largest client message in bytes. [env: BEDSIDE_MAX_MESSAGE_BYTES] (default: 65536)")
    var maxMessageBytes: Int?

    @Option(help: "Largest message content in characters. [env: BEDSIDE_MAX_CONTENT_CHARS] (default: 32000)")
    var maxContentChars: Int?

    @Option(help: "Frames queued per connection before it is closed (1013). [env: BEDSIDE_OUTBOX_CAPACITY] (default: 4096)")
    var outboxCapacity: Int?

    @Option(help: "Invalid frames tolerated in a burst before closing (1008). [env: BEDSIDE_MAX_VIOLATIONS] (default: 10)")
    var maxViolations: Int?

    @Option(
        help: """
            Seconds a graceful shutdown lets running turns finish before cancelling them; 0 cancels at once. \
            [env: BEDSIDE_SHUTDOWN_GRACE] (default: 10)
            """
    )
    var shutdownGrace: Int?

    @Option(
        help: """
            Merge a session's streaming deltas that arrive within this many milliseconds of the one before into one \
            event; 0 sends every delta as it comes. [env: BEDSIDE_COALESCE_DELTAS_MS] (default: 0)
            """
    )
    var coalesceDeltasMs: Int?

    @Option(help: "Synthetic patients seeded into an empty FHIR store at start; 0 seeds none. [env: BEDSIDE_SEED_PATIENTS] (default: 100)")
    var seedPatients: Int?

    @OptionGroup var clinical: ClinicalDataOptions
    @Option(
        help: """
            Link to a trace, {trace_id} replaced by its id, e.g. http://localhost:16686/trace/{trace_id}. \
            [env: BEDSIDE_TRACE_URL] (default: none)
            """
    )
    var traceURL: String?

    @Flag(
        help: """
            Record prompts, completions, tool arguments and results on spans (patient data).             [env: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY] (default: off)
            """
    )
    var captureContent = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [env: BEDSIDE_LOG_LEVEL] (default: info)")
    var logLevel: String?

    @Option(
        help: """
            Model provider: offline (Bedside's deterministic offline model), openai (OpenAI and compatible \
            servers: OPENAI_API_KEY, OPENAI_BASE_URL) or azure (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, \
            AZURE_OPENAI_DEPLOYMENT, OPENAI_API_VERSION). [env: BEDSIDE_LLM] (default: azure when \
            AZURE_OPENAI_ENDPOINT is set, else openai when OPENAI_API_KEY or OPENAI_BASE_URL is, else offline)
            """
    )
    var llm: String?

    @Option(help: "Model name sent to the provider. [env: BEDSIDE_MODEL] (default: gpt-4o-mini; Azure: the deployment)")
    var model: String?

    @Option(help: "Milliseconds between two deltas of the offline model's answers. [env: BEDSIDE_OFFLINE_DELTA_MS] (default: 8)")
    var offlineDeltaMs: Int?

    @Option(help: "Most model requests in one turn. [env: BEDSIDE_MAX_MODEL_CALLS] (default: 8)")
    var maxModelCalls: Int?

    @Option(help: "Seconds one tool call may run. [env: BEDSIDE_TOOL_TIMEOUT] (default: 30)")
    var toolTimeout: Int?

    @Option(help: "Seconds one turn may run. [env: BEDSIDE_TURN_TIMEOUT] (default: 300)")
    var turnTimeout: Int?

    @Option(help: "Characters of earlier conversation sent to the model. [env: BEDSIDE_HISTORY_CHARS] (default: 24000)")
    var historyChars: Int?

    @Option(
        help: """
            A FHIR R4 server the tools read from and imports go to, instead of the embedded store; authenticate \
            with BEDSIDE_FHIR_TOKEN, or BEDSIDE_FHIR_CLIENT_ID, BEDSIDE_FHIR_CLIENT_SECRET and \
            BEDSIDE_FHIR_TOKEN_URL. [env: BEDSIDE_FHIR_URL] (default: none)
            """
    )
    var fhirURL: String?

    @Option(
        help: """
            MCP servers whose tools the agent may use: a JSON file or inline JSON in the Claude Desktop format,             {"mcpServers": {"name": {"command": …} or {"url": …}}}. [env: BEDSIDE_MCP_SERVERS] (default: none)
            """
    )
    var mcpConfig: String?

    @Flag(
        inversion: .prefixedNo,
        help: "Serve the FHIR tools to other agents over MCP at /mcp. [env: BEDSIDE_MCP_SERVER=on|off] (default: on)"
    )
    var mcpServer: Bool?

    @OptionGroup var identity: AuthOptions

    @OptionGroup var perimeter: LimitOptions

    @Option(help: "Most tokens one model response may generate (max_tokens). [env: BEDSIDE_MAX_OUTPUT_TOKENS] (default: 4096)")
    var maxOutputTokens: Int?

    @Option(
        help:
            "Tool calls of one model response that run; the rest are answered as errors. [env: BEDSIDE_MAX_TOOL_CALLS_PER_RESPONSE] (default: 8)"
    )
    var maxToolCallsPerResponse: Int?

    struct Settings {
        var server: ServerConfiguration
        var databasePath: String
        var logLevel: Logger.Level
        var model: ModelChoice
        var agent: AgentSettings
        var clinical: ClinicalDataSettings
        /// The FHIR server the tools use; nil for the embedded store.
        var fhirServer: FHIRServerConfiguration?
        /// Where spans go (the `OTEL_*` variables) and whether they carry content.
        var tracing: TracingSettings
        /// The MCP servers the agent connects to.
        var mcpServers: [MCPServerConfiguration] = []
        /// Whether `/mcp` serves the FHIR tools.
        var serveMCP = true
        /// Who may use the server.
        var auth = AuthOptions.Settings()
    }

    /// Which language model answers.
    enum ModelChoice: Equatable {
        case offline
        case openAI(OpenAIConfiguration)
    }

    /// Limits of the agent loop.
    struct AgentSettings {
        /// The offline model's pause between two deltas.
        var offlineDelta = Duration.milliseconds(8)
        var maxModelCalls = 8
        var toolTimeout = Duration.seconds(30)
        var turnTimeout = Duration.seconds(300)
        var historyCharacters = 24_000
        /// The output budget of one model request (`max_tokens`, or `max_completion_tokens`).
        var maxOutputTokens = 4096
        /// Tool calls of one model response that run; the extra ones are answered as errors.
        var maxToolCallsPerResponse = 8
    }

    /// Applies flags, then `environment`, then defaults; throws a usage error for bad values.
    func resolve(environment: [String: String]) throws -> Settings {
        var server = ServerConfiguration()
        server.host = host ?? environment["BEDSIDE_HOST"] ?? server.host
        server.port = try port ?? integer("BEDSIDE_PORT", environment) ?? server.port
        guard (0...65535).contains(server.port) else {
            throw ValidationError("The port must be between 0 and 65535, not \(server.port).")
        }
        if let origins = allowedOrigins ?? environment["BEDSIDE_ALLOWED_ORIGINS"] {
            server.allowedOrigins = origins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        server.maxMessageBytes = try positive(maxMessageBytes, "BEDSIDE_MAX_MESSAGE_BYTES", environment) ?? server.maxMessageBytes
        server.maxContentCharacters =
            try positive(maxContentChars, "BEDSIDE_MAX_CONTENT_CHARS", environment) ?? server.maxContentCharacters
        server.outboxCapacity = try positive(outboxCapacity, "BEDSIDE_OUTBOX_CAPACITY", environment) ?? server.outboxCapacity
        server.maxViolations = try positive(maxViolations, "BEDSIDE_MAX_VIOLATIONS", environment) ?? server.maxViolations
        if let grace = try EnvironmentValue.integer(shutdownGrace, "BEDSIDE_SHUTDOWN_GRACE", environment, minimum: 0) {
            server.shutdownGrace = .seconds(grace)
        }
        if let window = try EnvironmentValue.integer(coalesceDeltasMs, "BEDSIDE_COALESCE_DELTAS_MS", environment, minimum: 0) {
            server.coalesceDeltas = .milliseconds(window)
        }
        let clinical = try self.clinical.resolve(environment: environment, seedPatients: seedPatients)
        server.maxImportBytes = clinical.maxImportBytes
        if let template = traceURL ?? environment["BEDSIDE_TRACE_URL"], !template.isEmpty {
            let lowered = template.lowercased()
            guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://"), template.contains("{trace_id}") else {
                throw ValidationError("The trace URL must be an http(s) URL containing {trace_id}, not '\(template)'.")
            }
            server.traceURL = template
        }
        let levelName = logLevel ?? environment["BEDSIDE_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName.lowercased()) else {
            throw ValidationError("Unknown log level '\(levelName)'.")
        }
        var agent = AgentSettings()
        agent.maxModelCalls = try positive(maxModelCalls, "BEDSIDE_MAX_MODEL_CALLS", environment) ?? agent.maxModelCalls
        if let delta = try EnvironmentValue.integer(offlineDeltaMs, "BEDSIDE_OFFLINE_DELTA_MS", environment, minimum: 0) {
            agent.offlineDelta = .milliseconds(delta)
        }
        agent.toolTimeout = try positive(toolTimeout, "BEDSIDE_TOOL_TIMEOUT", environment).map { .seconds($0) } ?? agent.toolTimeout
        agent.turnTimeout = try positive(turnTimeout, "BEDSIDE_TURN_TIMEOUT", environment).map { .seconds($0) } ?? agent.turnTimeout
        agent.historyCharacters = try positive(historyChars, "BEDSIDE_HISTORY_CHARS", environment) ?? agent.historyCharacters
        agent.maxOutputTokens = try positive(maxOutputTokens, "BEDSIDE_MAX_OUTPUT_TOKENS", environment) ?? agent.maxOutputTokens
        agent.maxToolCallsPerResponse =
            try positive(maxToolCallsPerResponse, "BEDSIDE_MAX_TOOL_CALLS_PER_RESPONSE", environment) ?? agent.maxToolCallsPerResponse
        var modelEnvironment = environment
        if let llm { modelEnvironment["BEDSIDE_LLM"] = llm }
        let choice: ModelChoice
        if modelEnvironment["BEDSIDE_LLM"]?.trimmingCharacters(in: .whitespaces).lowercased() == "offline" {
            choice = .offline
        } else {
            do {
                choice = try OpenAIConfiguration.fromEnvironment(modelEnvironment, model: model).map { .openAI($0) } ?? .offline
            } catch let error as OpenAIConfiguration.ConfigurationError {
                throw ValidationError(
                    error.message.replacingOccurrences(of: "must be openai or azure", with: "must be offline, openai or azure")
                )
            }
        }
        var fhirEnvironment = environment
        if let fhirURL { fhirEnvironment["BEDSIDE_FHIR_URL"] = fhirURL }
        let fhirServer: FHIRServerConfiguration?
        do {
            fhirServer = try FHIRServerConfiguration.fromEnvironment(fhirEnvironment)
        } catch let error as FHIRServerConfiguration.ConfigurationError {
            throw ValidationError(error.message)
        }
        var mcpServers: [MCPServerConfiguration] = []
        if let source = mcpConfig ?? environment["BEDSIDE_MCP_SERVERS"],
            !source.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        {
            do {
                mcpServers = try MCPServerConfiguration.parse(source)
            } catch {
                throw ValidationError("Bad MCP configuration (--mcp-config / BEDSIDE_MCP_SERVERS): \(error)")
            }
        }
        var serveMCP = true
        if let mcpServer {
            serveMCP = mcpServer
        } else if let raw = environment["BEDSIDE_MCP_SERVER"] {
            switch raw.lowercased() {
            case "on", "true", "1", "yes": serveMCP = true
            case "off", "false", "0", "no": serveMCP = false
            default: throw ValidationError("BEDSIDE_MCP_SERVER must be on or off, not '\(raw)'.")
            }
        }
        try perimeter.apply(to: &server, environment: environment)
        let auth = try identity.resolve(environment: environment, host: server.host)
        // The host of the public URL is this server's, whatever interface it is bound to.
        if let publicURL = auth.publicURL, let publicHost = URL(string: publicURL)?.host(percentEncoded: false),
            !server.allowedHosts.contains(publicHost)
        {
            server.allowedHosts.append(publicHost)
        }
        return Settings(
            server: server,
            databasePath: database ?? environment["BEDSIDE_DATABASE"] ?? "./bedside.sqlite",
            logLevel: level,
            model: choice,
            agent: agent,
            clinical: clinical,
            fhirServer: fhirServer,
            tracing: try TracingSettings.resolve(environment: environment, captureContentFlag: captureContent),
            mcpServers: mcpServers,
            serveMCP: serveMCP,
            auth: auth
        )
    }

    private func integer(_ name: String, _ environment: [String: String]) throws -> Int? {
        guard let raw = environment[name] else { return nil }
        guard let value = Int(raw) else { throw ValidationError("The environment variable \(name) must be an integer, not '\(raw)'.") }
        return value
    }

    private func positive(_ flag: Int?, _ name: String, _ environment: [String: String]) throws -> Int? {
        guard let value = try flag ?? integer(name, environment) else { return nil }
        guard value > 0 else {
            throw ValidationError("\(flag == nil ? name : "The flag") must be a positive integer, not \(value).")
        }
        return value
    }
}

enum ProcessEnvironment {
    static var current: [String: String] { ProcessInfo.processInfo.environment }
}

/// Reads an integer option: the flag, else its environment variable.
enum EnvironmentValue {
    /// Throws a usage error for a variable that is not an integer, or a value below `minimum`.
    static func integer(_ flag: Int?, _ name: String, _ environment: [String: String], minimum: Int) throws -> Int? {
        let value: Int
        if let flag {
            value = flag
        } else if let raw = environment[name] {
            guard let parsed = Int(raw) else {
                throw ValidationError("The environment variable \(name) must be an integer, not '\(raw)'.")
            }
            value = parsed
        } else {
            return nil
        }
        guard value >= minimum else {
            throw ValidationError("\(flag == nil ? name : "The flag") must be an integer of at least \(minimum), not \(value).")
        }
        return value
    }
}
