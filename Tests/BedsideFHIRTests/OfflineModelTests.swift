import BedsideAgent
import BedsideCore
import BedsideFHIR
import Foundation
import Synchronization
import Testing

/// The offline model answering through the real agent loop, the FHIR tools and the embedded
/// store holding real Synthea patients.
@Suite struct OfflineModelTests {
    let temporary: TemporaryStore
    let lean: String
    let margie: String

    init() async throws {
        temporary = try TemporaryStore()
        for name in ["patient-lean-davis", "patient-margie-hettinger", "patient-kallie-frami"] {
            try await temporary.store.importPatient(try Fixture.data(name))
        }
        lean = try Fixture.patientID(try Fixture.data("patient-lean-davis"))
        margie = try Fixture.patientID(try Fixture.data("patient-margie-hettinger"))
    }

    /// Runs one turn and returns its events and final answer.
    func ask(_ question: String, history: [ChatMessage] = []) async throws -> (events: [AgentEvent], answer: String) {
        let driver = AgentDriver(
            configuration: AgentMachine.Configuration(model: OfflineClinicalModel.name),
            model: OfflineClinicalModel(deltaInterval: .zero),
            tools: FHIRTools(source: EmbeddedFHIRSource(store: temporary.store))
        )
        let events = Mutex<[AgentEvent]>([])
        let end = await driver.run(history: history, userMessage: question, messageID: "m1") { event in
            events.withLock { $0.append(event) }
        }
        #expect(end.outcome == .completed)
        let all = events.withLock { $0 }
        var answer = ""
        for event in all { if case .finalText(let text, _, _) = event { answer = text } }
        return (all, answer)
    }

    func toolCalls(_ events: [AgentEvent]) -> [String] {
        events.compactMap { if case .toolCallStarted(_, let name, _, _) = $0 { return name } else { return nil } }
    }

    @Test func conditionsOfANamedPatient() async throws {
        let (events, answer) = try await ask("What conditions does Lean Davis have?")
        #expect(toolCalls(events) == ["find_patients", "search_clinical"])
        #expect(answer.contains("Patient/\(lean)"))
        #expect(answer.contains("Hyperlipidemia"))
        #expect(answer.contains("(Condition/"))
        // Deltas stream the answer in small pieces that add up to it.
        let deltas = events.compactMap { if case .textDelta(let text, _) = $0 { return text } else { return nil } }
        #expect(deltas.count > 5)
        #expect(deltas.joined() == answer)
        // Each model request reports the offline model and estimated tokens.
        let reports = events.compactMap { if case .modelCallEnded(let report) = $0 { return report } else { return nil } }
        #expect(reports.count == 3)
        #expect(reports.allSatisfy { $0.model == "bedside-offline" && $0.usage.promptTokens > 0 })
        let starts = events.compactMap { if case .modelCallStarted(_, let provider, _) = $0 { return provider } else { return nil } }
        #expect(starts == ["offline", "offline", "offline"])
    }

    @Test(arguments: [
        ("What medications is Kallie Frami taking?", "search_clinical", "MedicationRequest/"),
        ("Does Margie Hettinger have any allergies?", "search_clinical", "AllergyIntolerance/"),
        ("Which immunizations has Lean Davis had?", "search_clinical", "Immunization/"),
        ("Show the recent visits of Lean Davis", "search_clinical", "Encounter/"),
        ("Latest labs for Lean Davis", "patient_summary", "Observation/"),
        ("What are Margie Hettinger's vital signs?", "patient_summary", "Observation/"),
        ("Summarize margie hettinger", "patient_summary", "Condition/"),
        ("How has Lean Davis's weight changed?", "observation_trend", "Observation/"),
        ("What is the cholesterol of Lean Davis?", "observation_trend", "Observation/"),
    ])
    func commonQuestionsCallTheRightToolAndNameRecords(_ question: String, _ tool: String, _ reference: String) async throws {
        let (events, answer) = try await ask(question)
        #expect(toolCalls(events) == ["find_patients", tool])
        #expect(answer.contains(reference), "\(answer)")
    }

    @Test func aFollowUpUsesThePatientOfTheEarlierAnswer() async throws {
        let first = try await ask("What conditions does Lean Davis have?")
        let history: [ChatMessage] = [.user("What conditions does Lean Davis have?"), .assistant(first.answer)]
        let (events, answer) = try await ask("And her medications?", history: history)
        #expect(toolCalls(events) == ["search_clinical"])
        #expect(answer.contains("MedicationRequest/"))
    }

    @Test func unknownPatientsAndQuestionsAreAnsweredPlainly() async throws {
        let (_, nobody) = try await ask("What conditions does Zebulon Quux have?")
        #expect(nobody.contains("found no patient matching \"Zebulon Quux\""))
        let (events, help) = try await ask("Write me a poem about the sea")
        #expect(toolCalls(events).isEmpty)
        #expect(help.contains("offline model"))
        #expect(help.contains("OPENAI_API_KEY"))
        let (_, which) = try await ask("What conditions are recorded?")
        #expect(which.contains("Which patient do you mean?"))
    }

    @Test func severalMatchesAreListedForTheUserToChoose() async throws {
        // Lean Davis and Kallie Frami are both women born 1945-12-19.
        let (events, answer) = try await ask("Summarize the patient born 1945-12-19")
        #expect(toolCalls(events) == ["find_patients"])
        #expect(answer.contains("Several patients match \"born 1945-12-19\""))
        #expect(answer.contains("Patient/\(lean)"))
        #expect(answer.contains("Which one do you mean?"))
    }
}
