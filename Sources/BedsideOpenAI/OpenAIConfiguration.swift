import Foundation

/// Where Bedside's OpenAI-compatible model lives, which model it asks, and how patiently.
public struct OpenAIConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The kind of endpoint and its credentials.
    public enum Provider: Sendable, Hashable {
        /// OpenAI or a compatible server (Ollama, vLLM, llama.cpp server, LM Studio).
        case openAI(baseURL: String, apiKey: String?)
        /// Azure OpenAI: requests go to a deployment, the key travels in the `api-key` header.
        case azure(endpoint: String, apiKey: String, deployment: String, apiVersion: String)
    }

    /// How long Bedside waits at each stage of a request.
    public struct Timeouts: Sendable, Hashable {
        /// Establishing the TCP connection.
        public var connect: Duration
        /// From sending the request to the first chunk of the response.
        public var firstToken: Duration
        /// The longest gap allowed between two chunks of a streaming response.
        public var stalledStream: Duration

        public init(connect: Duration = .seconds(10), firstToken: Duration = .seconds(60), stalledStream: Duration = .seconds(30)) {
            self.connect = connect
            self.firstToken = firstToken
            self.stalledStream = stalledStream
        }
    }

    /// How often and how patiently Bedside retries a request that failed before its first token.
    public struct RetryPolicy: Sendable, Hashable {
        /// Attempts in total, including the first.
        public var maxAttempts: Int
        /// The delay before the first retry; each further retry doubles it.
        public var baseDelay: Duration
        /// The longest delay between two attempts.
        public var maxDelay: Duration

        public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(20)) {
            self.maxAttempts = maxAttempts
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
        }
    }

    /// Which request member carries a request's output budget (``BedsideCore/ModelRequest/maxOutputTokens``).
    ///
    /// OpenAI's reasoning models (the o1, o3, o4 and gpt-5 families), and Azure deployments of
    /// them, refuse `max_tokens` and take `max_completion_tokens`; compatible servers (Ollama,
    /// vLLM, llama.cpp) and older Azure API versions know only `max_tokens`.
    public enum OutputTokensParameter: String, Sendable, Hashable, CaseIterable {
        /// `max_completion_tokens` for a model (or Azure deployment) named like a reasoning
        /// model, else `max_tokens`; and when the endpoint refuses the one sent, naming the
        /// other, the request is sent again at once with the other, which is kept from then on.
        case automatic = "auto"
        /// Always `max_tokens`.
        case maxTokens = "max_tokens"
        /// Always `max_completion_tokens`.
        case maxCompletionTokens = "max_completion_tokens"
    }

    public var provider: Provider
    /// The model name sent in each request (for Azure the deployment decides the model).
    public var model: String
    public var timeouts: Timeouts
    public var retry: RetryPolicy
    /// Which member carries the output budget. `BEDSIDE_MAX_TOKENS_PARAMETER` (`auto`,
    /// `max_tokens` or `max_completion_tokens`); default ``OutputTokensParameter/automatic``.
    public var outputTokensParameter: OutputTokensParameter

    public init(
        provider: Provider,
        model: String,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        outputTokensParameter: OutputTokensParameter = .automatic
    ) {
        self.provider = provider
        self.model = model
        self.timeouts = timeouts
        self.retry = retry
        self.outputTokensParameter = outputTokensParameter
    }

    /// Whether `name` (a model, or an Azure deployment named after its model) belongs to a
    /// family that takes `max_completion_tokens` only: o1, o3, o4 and gpt-5, also behind a
    /// provider prefix (`openai/o3-mini`).
    public static func isReasoningModel(_ name: String) -> Bool {
        let base = name.lowercased().split(separator: "/").last.map(String.init) ?? ""
        for family in ["o1", "o3", "o4"] where base == family || base.hasPrefix(family + "-") {
            return true
        }
        return base == "gpt-5" || base.hasPrefix("gpt-5-") || base.hasPrefix("gpt-5.")
    }

    /// The member the first request carries the output budget in.
    var initialOutputTokensMember: OutputTokensParameter {
        switch outputTokensParameter {
        case .maxTokens, .maxCompletionTokens:
            return outputTokensParameter
        case .automatic:
            var names = [model]
            if case .azure(_, _, let deployment, _) = provider { names.append(deployment) }
            return names.contains(where: Self.isReasoningModel) ? .maxCompletionTokens : .maxTokens
        }
    }

    /// `openai` or `azure`, as shown in `openai_call` events.
    public var providerName: String {
        switch provider {
        case .openAI: "openai"
        case .azure: "azure"
        }
    }

    /// The provider, endpoint and model, never the key: safe for `/ready` and logs.
    public var description: String {
        switch provider {
        case .openAI(let baseURL, let apiKey):
            "openai \(baseURL) model \(model)\(apiKey == nil ? " (no API key)" : "")"
        case .azure(let endpoint, _, let deployment, let apiVersion):
            "azure \(endpoint) deployment \(deployment) api-version \(apiVersion)"
        }
    }

    /// The default model when neither `--model` nor `BEDSIDE_MODEL` names one.
    public static let defaultModel = "gpt-4o-mini"
    /// The default Azure `api-version`.
    public static let defaultAzureAPIVersion = "2024-10-21"

    /// A configuration read from the standard environment variables, or nil when no model is configured.
    ///
    /// `BEDSIDE_LLM` (`openai` or `azure`) picks the provider; without it Azure is used when
    /// `AZURE_OPENAI_ENDPOINT` is set, else OpenAI when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is.
    /// `model` (the `--model` flag) wins over `BEDSIDE_MODEL`.
    public static func fromEnvironment(_ env: [String: String], model: String? = nil) throws -> OpenAIConfiguration? {
        func value(_ name: String) -> String? {
            guard let raw = env[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        let modelName = model ?? value("BEDSIDE_MODEL")
        var outputTokens = OutputTokensParameter.automatic
        if let raw = value("BEDSIDE_MAX_TOKENS_PARAMETER") {
            guard let parsed = OutputTokensParameter(rawValue: raw.lowercased()) else {
                throw ConfigurationError(
                    message: "BEDSIDE_MAX_TOKENS_PARAMETER must be auto, max_tokens or max_completion_tokens, not \(raw)"
                )
            }
            outputTokens = parsed
        }
        let choice = value("BEDSIDE_LLM")?.lowercased()
        let useAzure: Bool
        switch choice {
        case "azure": useAzure = true
        case "openai": useAzure = false
        case nil:
            if value("AZURE_OPENAI_ENDPOINT") != nil {
                useAzure = true
            } else if value("OPENAI_API_KEY") != nil || value("OPENAI_BASE_URL") != nil {
                useAzure = false
            } else {
                return nil
            }
        case let other?:
            throw ConfigurationError(message: "BEDSIDE_LLM must be openai or azure, not \(other)")
        }
        if useAzure {
            guard let endpoint = value("AZURE_OPENAI_ENDPOINT") else {
                throw ConfigurationError(message: "Azure OpenAI needs AZURE_OPENAI_ENDPOINT")
            }
            guard let key = value("AZURE_OPENAI_API_KEY") else {
                throw ConfigurationError(message: "Azure OpenAI needs AZURE_OPENAI_API_KEY")
            }
            guard let deployment = value("AZURE_OPENAI_DEPLOYMENT") else {
                throw ConfigurationError(message: "Azure OpenAI needs AZURE_OPENAI_DEPLOYMENT")
            }
            let version = value("OPENAI_API_VERSION") ?? defaultAzureAPIVersion
            return OpenAIConfiguration(
                provider: .azure(endpoint: trimmed(endpoint), apiKey: key, deployment: deployment, apiVersion: version),
                model: modelName ?? deployment,
                outputTokensParameter: outputTokens
            )
        }
        let base = value("OPENAI_BASE_URL") ?? "https://api.openai.com/v1"
        return OpenAIConfiguration(
            provider: .openAI(baseURL: trimmed(base), apiKey: value("OPENAI_API_KEY")),
            model: modelName ?? defaultModel,
            outputTokensParameter: outputTokens
        )
    }

    private static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// A model configuration that cannot be used; the message names the variable to fix.
    public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
