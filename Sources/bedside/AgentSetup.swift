import BedsideAgent
import BedsideCore
import BedsideFHIR
import BedsideMCP
import BedsideOpenAI
import BedsideServer
import Foundation
import Logging

/// The agent Bedside answers with: the configured model (the offline model by default), the
/// FHIR tools over the embedded store or an external FHIR server, and the access audit.
struct AgentSetup {
    let runner: AgentTurnRunner
    /// Where imports go: the external server when one is configured.
    let remoteFHIR: RESTFHIRSource?
    /// The built-in FHIR tools: the agent's, and those served at `/mcp`.
    let fhirTools: FHIRTools
    /// The configured MCP servers' tools; nil when none is configured.
    let mcp: MCPToolset?
    private let openAI: OpenAIModel?

    init(settings: Options.Settings, fhirStore: FHIRStore, audit: any AccessAudit, tracing: AgentTracing, logger: Logger) {
        let model: any LanguageModel
        switch settings.model {
        case .offline:
            openAI = nil
            model = OfflineClinicalModel(deltaInterval: settings.agent.offlineDelta)
            logger.notice(
                "Model: bedside-offline (deterministic, no language model). For a real model set OPENAI_API_KEY, OPENAI_BASE_URL or the AZURE_OPENAI_* variables."
            )
        case .openAI(let configuration):
            let client = OpenAIModel(configuration: configuration)
            openAI = client
            model = client
            logger.info("Model: \(configuration.description)")
        }
        let source: any FHIRDataSource
        if let server = settings.fhirServer {
            let remote = RESTFHIRSource(configuration: server)
            remoteFHIR = remote
            source = remote
            logger.info("FHIR data: \(server.baseURL)")
        } else {
            remoteFHIR = nil
            source = EmbeddedFHIRSource(store: fhirStore)
        }
        fhirTools = FHIRTools(source: source, audit: audit)
        let tools: any Toolset
        if settings.mcpServers.isEmpty {
            mcp = nil
            tools = fhirTools
        } else {
            let mcp = MCPToolset(servers: settings.mcpServers, logger: logger)
            self.mcp = mcp
            // Built-in tools come first and keep their names on a collision.
            tools = CompositeToolset([fhirTools, mcp])
            logger.info("MCP servers: \(settings.mcpServers.map(\.name).joined(separator: ", "))")
        }
        runner = AgentTurnRunner(
            model: model,
            tools: tools,
            configuration: AgentMachine.Configuration(
                model: model.modelName,
                maxModelRequests: settings.agent.maxModelCalls,
                maxOutputTokens: settings.agent.maxOutputTokens,
                maxToolCallsPerResponse: settings.agent.maxToolCallsPerResponse
            ),
            toolTimeout: settings.agent.toolTimeout,
            turnTimeout: settings.agent.turnTimeout,
            historyCharacterBudget: settings.agent.historyCharacters,
            tracing: tracing
        )
    }

    /// Closes the HTTP clients of the model and the FHIR server.
    func shutdown() async {
        try? await openAI?.shutdown()
        try? await remoteFHIR?.shutdown()
    }
}

/// An external FHIR server as the server's ``PatientRecords``: imports go there as one
/// transaction; `GET /patient/{id}` reads the patient, counts and summary from it.
struct RemotePatientRecords: PatientRecords {
    let source: RESTFHIRSource
    let maxImportBytes: Int

    func importPatient(_ body: Data) async throws -> (patientID: String, counts: [String: Int]) {
        do {
            let imported = try await source.importPatient(body, maxBytes: maxImportBytes)
            return (imported.patientID, imported.counts)
        } catch let error as FHIRImportError {
            throw PatientImportError(error)
        } catch let error as FHIRServerError {
            // The server is down, slow or refuses Bedside's credentials: say so, as a gateway would.
            throw PatientImportError(status: 502, issueCode: "transient", message: error.message)
        }
    }

    func patient(id: String) async throws -> String? {
        try await source.patientRecordJSON(patientID: id)
    }
}
