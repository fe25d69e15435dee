import BedsideCore
import BedsideOpenAI
import BedsideTestSupport
import Testing

/// The output budget on the wire: `max_tokens`, or `max_completion_tokens` for the models that
/// refuse `max_tokens`, chosen by name, by configuration, or from the endpoint's refusal.
@Suite struct OutputTokensTests {
    /// OpenAI's answer to `max_tokens` sent to a reasoning model.
    static let refusesMaxTokens = """
        {"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. \
        Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}
        """
    /// An older Azure API version's answer to `max_completion_tokens`.
    static let refusesMaxCompletionTokens = """
        {"error":{"code":"BadRequest","message":"Unrecognized request argument supplied: max_completion_tokens"}}
        """

    private func request(budget: Int?) -> ModelRequest {
        ModelRequest(model: "ignored", messages: [.user("hi")], maxOutputTokens: budget)
    }

    /// Sends one request per budget through a model for `name`; returns the bodies received.
    private func bodies(
        model name: String,
        provider: (FakeOpenAIServer) -> OpenAIConfiguration.Provider = { .openAI(baseURL: $0.baseURL, apiKey: "sk") },
        parameter: OpenAIConfiguration.OutputTokensParameter = .automatic,
        replies: [Reply],
        budgets: [Int?]
    ) async throws -> (bodies: [JSONValue], errors: [(any Error)?]) {
        let server = try await FakeOpenAIServer(replies)
        var configuration = testConfiguration(provider(server), attempts: 1)
        configuration.model = name
        configuration.outputTokensParameter = parameter
        let model = OpenAIModel(configuration: configuration)
        var errors: [(any Error)?] = []
        for budget in budgets {
            var request = request(budget: budget)
            request.model = name
            errors.append(await collect(model, request).1)
        }
        try await model.shutdown()
        let bodies = server.received.map(\.body)
        await server.stop()
        return (bodies, errors)
    }

    private static let answer = Reply.stream([textChunk("ok"), finishChunk("stop")])

    @Test func aChatModelGetsMaxTokensAndARequestWithoutABudgetGetsNeither() async throws {
        let (bodies, errors) = try await bodies(model: "gpt-4o-mini", replies: [Self.answer, Self.answer], budgets: [4096, nil])
        #expect(errors.allSatisfy { $0 == nil })
        #expect(bodies.map { $0["max_tokens"] } == [.integer(4096), nil])
        #expect(bodies.map { $0["max_completion_tokens"] } == [nil, nil])
    }

    @Test(arguments: ["o1", "o1-mini", "o3-mini", "o4-mini-2025-04-16", "gpt-5", "gpt-5-mini", "openai/o3"])
    func aReasoningModelGetsMaxCompletionTokens(name: String) async throws {
        let (bodies, _) = try await bodies(model: name, replies: [Self.answer], budgets: [300])
        #expect(bodies.first?["max_completion_tokens"] == .integer(300))
        #expect(bodies.first?["max_tokens"] == nil)
    }

    @Test func onlyTheReasoningFamiliesAreTakenForThem() {
        for name in ["o1", "O3-MINI", "o4-mini", "gpt-5", "gpt-5.1", "gpt-5-nano", "azure/o1-preview"] {
            #expect(OpenAIConfiguration.isReasoningModel(name), "\(name)")
        }
        for name in ["gpt-4o", "gpt-4.1-mini", "llama3.1:8b", "omni-7b", "o10", "gpt-50", "qwen2.5", ""] {
            #expect(!OpenAIConfiguration.isReasoningModel(name), "\(name)")
        }
    }

    @Test func anAzureDeploymentNamedAfterAReasoningModelGetsMaxCompletionTokens() async throws {
        let (bodies, _) = try await bodies(
            model: "o3-mini",
            provider: { .azure(endpoint: $0.endpoint, apiKey: "k", deployment: "o3-mini", apiVersion: "2024-12-01-preview") },
            replies: [Self.answer],
            budgets: [512]
        )
        #expect(bodies.first?["max_completion_tokens"] == .integer(512))
        #expect(bodies.first?["max_tokens"] == nil)
    }

    @Test func whenTheEndpointRefusesMaxTokensTheRequestIsSentAgainAtOnceAndTheChoiceKept() async throws {
        // An Azure deployment whose name says nothing of its model.
        let (bodies, errors) = try await bodies(
            model: "prod-chat",
            provider: { .azure(endpoint: $0.endpoint, apiKey: "k", deployment: "prod-chat", apiVersion: "2024-12-01-preview") },
            replies: [.status(400, body: Self.refusesMaxTokens), Self.answer, Self.answer],
            budgets: [4096, 4096]
        )
        // One attempt allowed, yet the turn's request succeeded: the resend is not a retry.
        #expect(errors.map { $0 == nil } == [true, true])
        #expect(bodies.map { $0["max_tokens"] } == [.integer(4096), nil, nil])
        #expect(bodies.map { $0["max_completion_tokens"] } == [nil, .integer(4096), .integer(4096)])
    }

    @Test func whenTheEndpointRefusesMaxCompletionTokensItGetsMaxTokens() async throws {
        let (bodies, errors) = try await bodies(
            model: "o3-mini",
            replies: [.status(400, body: Self.refusesMaxCompletionTokens), Self.answer],
            budgets: [100]
        )
        #expect(errors.first.map { $0 == nil } == true)
        #expect(bodies.map { $0["max_completion_tokens"] } == [.integer(100), nil])
        #expect(bodies.map { $0["max_tokens"] } == [nil, .integer(100)])
    }

    @Test func aConfiguredMemberIsAlwaysSentAndARefusalOfItIsTheError() async throws {
        let fixed = try await bodies(
            model: "o3-mini",
            parameter: .maxTokens,
            replies: [.status(400, body: Self.refusesMaxTokens), Self.answer],
            budgets: [100]
        )
        #expect(fixed.bodies.count == 1)
        #expect(fixed.bodies.first?["max_tokens"] == .integer(100))
        let error = fixed.errors.first.flatMap { $0 } as? ModelError
        #expect(error?.httpStatus == 400)

        let completion = try await bodies(model: "gpt-4o", parameter: .maxCompletionTokens, replies: [Self.answer], budgets: [64])
        #expect(completion.bodies.first?["max_completion_tokens"] == .integer(64))
        #expect(completion.bodies.first?["max_tokens"] == nil)
    }

    @Test func anotherBadRequestNamingMaxTokensIsNotTakenForARefusal() async throws {
        let tooMany = #"{"error":{"message":"max_tokens is too large: 100000. This model supports at most 16384 completion tokens."}}"#
        let (bodies, errors) = try await bodies(model: "gpt-4o", replies: [.status(400, body: tooMany), Self.answer], budgets: [100_000])
        #expect(bodies.count == 1)
        #expect(errors.first.flatMap { $0 } is ModelError)
    }

    @Test func theMemberComesFromTheEnvironment() throws {
        let base = ["OPENAI_API_KEY": "sk"]
        #expect(try OpenAIConfiguration.fromEnvironment(base)?.outputTokensParameter == .automatic)
        for parameter in OpenAIConfiguration.OutputTokensParameter.allCases {
            let environment = base.merging(["BEDSIDE_MAX_TOKENS_PARAMETER": parameter.rawValue.uppercased()]) { $1 }
            #expect(try OpenAIConfiguration.fromEnvironment(environment)?.outputTokensParameter == parameter)
        }
        let azure = [
            "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com", "AZURE_OPENAI_API_KEY": "k", "AZURE_OPENAI_DEPLOYMENT": "d",
            "BEDSIDE_MAX_TOKENS_PARAMETER": "max_completion_tokens",
        ]
        #expect(try OpenAIConfiguration.fromEnvironment(azure)?.outputTokensParameter == .maxCompletionTokens)
        #expect(throws: OpenAIConfiguration.ConfigurationError.self) {
            try OpenAIConfiguration.fromEnvironment(base.merging(["BEDSIDE_MAX_TOKENS_PARAMETER": "max_output_tokens"]) { $1 })
        }
    }
}
