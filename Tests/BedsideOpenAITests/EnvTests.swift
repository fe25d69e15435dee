import BedsideOpenAI
import BedsideTestSupport
import Testing

@Suite struct EnvironmentTests {
    @Test func nothingConfiguredIsNil() throws {
        #expect(try OpenAIConfiguration.fromEnvironment([:], model: nil) == nil)
        #expect(try OpenAIConfiguration.fromEnvironment(["BEDSIDE_MODEL": "m"], model: nil) == nil)
    }

    @Test func openAIWithKeyAndDefaults() throws {
        let configuration = try #require(try OpenAIConfiguration.fromEnvironment(["OPENAI_API_KEY": "sk-secret"], model: nil))
        #expect(configuration.provider == .openAI(baseURL: "https://api.openai.com/v1", apiKey: "sk-secret"))
        #expect(configuration.model == OpenAIConfiguration.defaultModel)
        #expect(configuration.providerName == "openai")
        #expect(!configuration.description.contains("sk-secret"))
    }

    @Test func compatibleServerWithBaseURLOnly() throws {
        let env = ["OPENAI_BASE_URL": "http://localhost:11434/v1/", "BEDSIDE_MODEL": "llama3.1"]
        let configuration = try #require(try OpenAIConfiguration.fromEnvironment(env, model: nil))
        #expect(configuration.provider == .openAI(baseURL: "http://localhost:11434/v1", apiKey: nil))
        #expect(configuration.model == "llama3.1")
    }

    @Test func modelFlagWinsOverEnvironment() throws {
        let env = ["OPENAI_API_KEY": "k", "BEDSIDE_MODEL": "from-env"]
        #expect(try OpenAIConfiguration.fromEnvironment(env, model: "from-flag")?.model == "from-flag")
    }

    private let azure = [
        "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com",
        "AZURE_OPENAI_API_KEY": "az-secret",
        "AZURE_OPENAI_DEPLOYMENT": "dep",
        "OPENAI_API_VERSION": "2025-01-01",
    ]

    @Test func azureFromEveryVariable() throws {
        let configuration = try #require(try OpenAIConfiguration.fromEnvironment(azure, model: nil))
        #expect(
            configuration.provider
                == .azure(endpoint: "https://x.openai.azure.com", apiKey: "az-secret", deployment: "dep", apiVersion: "2025-01-01")
        )
        #expect(configuration.model == "dep")
        #expect(configuration.providerName == "azure")
        #expect(!configuration.description.contains("az-secret"))
        #expect(configuration.description.contains("dep"))
    }

    @Test func azureWinsWhenBothAreConfigured() throws {
        var env = azure
        env["OPENAI_API_KEY"] = "sk"
        #expect(try OpenAIConfiguration.fromEnvironment(env, model: nil)?.providerName == "azure")
    }

    @Test func bedsideLLMPicksExplicitly() throws {
        var env = azure
        env["OPENAI_API_KEY"] = "sk"
        env["BEDSIDE_LLM"] = "openai"
        #expect(try OpenAIConfiguration.fromEnvironment(env, model: nil)?.providerName == "openai")
        env["BEDSIDE_LLM"] = "AZURE"
        #expect(try OpenAIConfiguration.fromEnvironment(env, model: nil)?.providerName == "azure")
        #expect(try OpenAIConfiguration.fromEnvironment(["BEDSIDE_LLM": "openai"], model: nil)?.providerName == "openai")
    }

    @Test func azureDefaultsTheAPIVersion() throws {
        var env = azure
        env["OPENAI_API_VERSION"] = nil
        let configuration = try #require(try OpenAIConfiguration.fromEnvironment(env, model: nil))
        guard case .azure(_, _, _, let version) = configuration.provider else { throw FakeFailure() }
        #expect(version == OpenAIConfiguration.defaultAzureAPIVersion)
    }

    @Test func invalidChoicesAndMissingAzureVariablesThrow() {
        #expect(throws: OpenAIConfiguration.ConfigurationError.self) {
            try OpenAIConfiguration.fromEnvironment(["BEDSIDE_LLM": "gemini"], model: nil)
        }
        #expect(throws: OpenAIConfiguration.ConfigurationError.self) {
            try OpenAIConfiguration.fromEnvironment(["AZURE_OPENAI_ENDPOINT": "https://x"], model: nil)
        }
        #expect(throws: OpenAIConfiguration.ConfigurationError.self) {
            try OpenAIConfiguration.fromEnvironment(["BEDSIDE_LLM": "azure"], model: nil)
        }
    }
}
