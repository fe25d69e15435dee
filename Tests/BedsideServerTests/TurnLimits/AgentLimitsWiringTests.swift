import BedsideAgent
import BedsideCore
import BedsideFHIR
import BedsideStore
import BedsideTestSupport
import Foundation
import Logging
import Testing

@testable import bedside

/// `--max-output-tokens` and `--max-tool-calls-per-response` reach the agent, and the budget
/// reaches the model's wire.
@Suite struct AgentLimitsWiringTests {
    private func setup(_ arguments: [String], environment: [String: String] = [:]) async throws -> AgentSetup {
        let settings = try Options.parse(arguments).resolve(environment: environment)
        var logger = Logger(label: "agent-limits-test")
        logger.logLevel = .critical
        return AgentSetup(
            settings: settings,
            fhirStore: try FHIRStore.inMemory(),
            audit: InMemoryEventStore(),
            tracing: AgentTracing(),
            logger: logger
        )
    }

    @Test func theAgentGetsTheDefaultsOrTheFlags() async throws {
        let defaults = try await setup([])
        #expect(defaults.runner.configuration.maxOutputTokens == 4096)
        #expect(defaults.runner.configuration.maxToolCallsPerResponse == 8)
        await defaults.shutdown()
        let flags = try await setup(["--max-output-tokens", "300", "--max-tool-calls-per-response", "2"])
        #expect(flags.runner.configuration.maxOutputTokens == 300)
        #expect(flags.runner.configuration.maxToolCallsPerResponse == 2)
        await flags.shutdown()
        let environment = try await setup(
            [],
            environment: ["BEDSIDE_MAX_OUTPUT_TOKENS": "1000", "BEDSIDE_MAX_TOOL_CALLS_PER_RESPONSE": "3"]
        )
        #expect(environment.runner.configuration.maxOutputTokens == 1000)
        #expect(environment.runner.configuration.maxToolCallsPerResponse == 3)
        await environment.shutdown()
    }

    /// Runs one turn of the executable's agent against a fake OpenAI server; returns the body
    /// of its model request.
    private func requestBody(_ arguments: [String], environment: [String: String] = [:]) async throws -> JSONValue {
        let fake = try await FakeOpenAIServer([.stream([textChunk("Hello."), finishChunk("stop"), usageChunk])])
        let agent = try await setup(
            ["--llm", "openai"] + arguments,
            environment: ["OPENAI_BASE_URL": fake.baseURL, "OPENAI_API_KEY": "sk-test"].merging(environment) { $1 }
        )
        let server = try await LiveServer.start(runner: agent.runner)
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "Hello?"))
        #expect(try await socket.receiveTurn().last?.status == "completed")
        try await socket.close()
        try await server.stop()
        await agent.shutdown()
        let body = try #require(fake.received.first?.body)
        await fake.stop()
        return body
    }

    @Test func theOutputBudgetIsOnTheWireAsMaxTokens() async throws {
        let atDefault = try await requestBody([])
        #expect(atDefault["max_tokens"] == .integer(4096))
        #expect(atDefault["max_completion_tokens"] == nil)
        let configured = try await requestBody(["--max-output-tokens", "256"])
        #expect(configured["max_tokens"] == .integer(256))
    }

    @Test func aReasoningModelOrTheVariableGetsMaxCompletionTokens() async throws {
        let reasoning = try await requestBody(["--model", "o4-mini"])
        #expect(reasoning["max_completion_tokens"] == .integer(4096))
        #expect(reasoning["max_tokens"] == nil)
        let chosen = try await requestBody(
            ["--model", "gpt-4o", "--max-output-tokens", "77"],
            environment: ["BEDSIDE_MAX_TOKENS_PARAMETER": "max_completion_tokens"]
        )
        #expect(chosen["max_completion_tokens"] == .integer(77))
        #expect(chosen["max_tokens"] == nil)
    }
}
