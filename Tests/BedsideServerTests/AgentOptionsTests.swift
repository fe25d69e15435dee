import ArgumentParser
import BedsideFHIR
import BedsideOpenAI
import BedsideServer
import Foundation
import Testing

@testable import bedside

/// How the executable picks its model, the FHIR data source and the agent's limits.
@Suite struct AgentOptionsTests {
    @Test func theOfflineModelAnswersWhenNoModelIsConfigured() throws {
        let settings = try Options.parse([]).resolve(environment: [:])
        #expect(settings.model == .offline)
        #expect(settings.fhirServer == nil)
        #expect(settings.agent.offlineDelta == .milliseconds(8))
        #expect(settings.agent.maxModelCalls == 8)
    }

    @Test func aConfiguredProviderIsUsedUnlessOfflineIsAskedFor() throws {
        let environment = ["OPENAI_API_KEY": "sk-x", "BEDSIDE_MODEL": "gpt-test"]
        guard case .openAI(let configuration) = try Options.parse([]).resolve(environment: environment).model else {
            Issue.record("OPENAI_API_KEY did not select OpenAI")
            return
        }
        #expect(configuration.model == "gpt-test")
        #expect(try Options.parse(["--llm", "offline"]).resolve(environment: environment).model == .offline)
        #expect(try Options.parse([]).resolve(environment: environment.merging(["BEDSIDE_LLM": "Offline"]) { $1 }).model == .offline)
    }

    @Test func aProviderMissingAVariableOrAnUnknownOneIsRefusedWithItsName() throws {
        do {
            _ = try Options.parse(["--llm", "azure"]).resolve(environment: [:])
            Issue.record("azure without its variables was accepted")
        } catch let error as ValidationError {
            #expect(error.message.contains("AZURE_OPENAI_ENDPOINT"))
        }
        do {
            _ = try Options.parse([]).resolve(environment: ["BEDSIDE_LLM": "bard"])
            Issue.record("an unknown provider was accepted")
        } catch let error as ValidationError {
            #expect(error.message.contains("must be offline, openai or azure"))
        }
    }

    @Test func theFHIRServerAndTheOfflinePaceComeFromFlagsOrTheEnvironment() throws {
        let environment = ["BEDSIDE_FHIR_URL": "http://env/fhir", "BEDSIDE_FHIR_TOKEN": "t", "BEDSIDE_OFFLINE_DELTA_MS": "30"]
        let fromEnvironment = try Options.parse([]).resolve(environment: environment)
        #expect(fromEnvironment.fhirServer == FHIRServerConfiguration(baseURL: "http://env/fhir", authentication: .bearer("t")))
        #expect(fromEnvironment.agent.offlineDelta == .milliseconds(30))
        let fromFlags = try Options.parse(["--fhir-url", "https://flag/fhir", "--offline-delta-ms", "0"]).resolve(environment: environment)
        #expect(fromFlags.fhirServer?.baseURL == "https://flag/fhir")
        #expect(fromFlags.agent.offlineDelta == .zero)
        #expect(throws: (any Error).self) { try Options.parse(["--fhir-url", "ftp://x"]).resolve(environment: [:]) }
        #expect(throws: (any Error).self) { try Options.parse(["--offline-delta-ms", "-1"]).resolve(environment: [:]) }
    }
}

/// Imports into an external FHIR server that cannot be reached answer 502 with the reason.
@Suite struct RemotePatientRecordsTests {
    @Test func anUnreachableServerIsA502ThatSaysSo() async throws {
        let source = RESTFHIRSource(configuration: FHIRServerConfiguration(baseURL: "http://127.0.0.1:1/fhir", timeout: .seconds(2)))
        let records = RemotePatientRecords(source: source, maxImportBytes: 1 << 20)
        let patient = Data(#"{"resourceType":"Patient","id":"p-1"}"#.utf8)
        do {
            _ = try await records.importPatient(patient)
            Issue.record("an import into an unreachable server succeeded")
        } catch let error as PatientImportError {
            #expect(error.status == 502)
            #expect(error.message.hasPrefix("Cannot reach the FHIR server at http://127.0.0.1:1/fhir"))
        }
        try await source.shutdown()
    }
}
