import BedsideCore
import Foundation

/// Decides the offline model's next step from the conversation alone: which tool to call, or
/// the answer to give. Stateless: the same messages always give the same step.
struct OfflinePlanner {
    enum Step: Equatable {
        case call(name: String, arguments: JSONValue, id: String)
        case answer(String)
    }

    /// A tool call of this turn and what it returned.
    struct Exchange {
        var call: ToolCall
        var content: String
        var isError: Bool
        var result: JSONValue? { try? FHIRJSON.parse(content) }
    }

    let question: Question
    let exchanges: [Exchange]
    /// The patient the conversation was about before this question (from earlier answers).
    let earlierPatientID: String?
    let hasTools: Bool

    init(request: ModelRequest) {
        let lastUser = request.messages.lastIndex { if case .user = $0 { return true } else { return false } }
        var text = ""
        if let lastUser, case .user(let content) = request.messages[lastUser] { text = content }
        question = Question(text)
        var exchanges: [Exchange] = []
        var results: [String: (String, Bool)] = [:]
        var calls: [ToolCall] = []
        let turn = lastUser.map { request.messages[($0 + 1)...] } ?? []
        for message in turn {
            switch message {
            case .assistant(_, let toolCalls): calls += toolCalls
            case .tool(let id, let content, let isError): results[id] = (content, isError)
            default: break
            }
        }
        for call in calls {
            if let (content, isError) = results[call.id] { exchanges.append(Exchange(call: call, content: content, isError: isError)) }
        }
        self.exchanges = exchanges
        var earlier: String?
        for message in request.messages[..<(lastUser ?? 0)] {
            if case .assistant(let text?, _) = message, let id = Self.lastPatientReference(in: text) { earlier = id }
        }
        earlierPatientID = earlier
        hasTools = request.tools.contains { $0.name == "find_patients" }
    }

    func next() -> Step {
        guard hasTools else {
            return .answer("I cannot look at any patient records: no FHIR tools are available to me in this session.")
        }
        guard question.topic != nil || question.identifiesPatient else { return .answer(Self.help) }
        let topic = question.topic ?? .summary
        guard let last = exchanges.last else {
            if question.identifiesPatient {
                var arguments: [String: JSONValue] = [:]
                if let name = question.patientName { arguments["name"] = .string(name) }
                if let birthDate = question.birthDate { arguments["birthdate"] = .string(birthDate) }
                return call("find_patients", arguments)
            }
            if let patientID = earlierPatientID { return call(for: topic, patientID: patientID) }
            return .answer(
                "Which patient do you mean? Name them in the question, for example: \"What conditions does Maria Garcia have?\""
            )
        }
        if last.isError {
            return .answer("I could not retrieve the records: \(last.content)")
        }
        if last.call.name == "find_patients" {
            return afterFindingPatients(last, topic: topic)
        }
        return .answer(OfflineAnswer.compose(topic: topic, patient: patientRow, result: last.result ?? .null))
    }

    /// The patient found earlier in this turn, as `find_patients` described them.
    private var patientRow: JSONValue? {
        for exchange in exchanges where exchange.call.name == "find_patients" {
            if case .array(let patients)? = exchange.result?["patients"], patients.count == 1 { return patients[0] }
        }
        return nil
    }

    private func afterFindingPatients(_ exchange: Exchange, topic: Question.Topic) -> Step {
        guard case .array(let patients)? = exchange.result?["patients"] else {
            return .answer("I could not read the patient search result.")
        }
        let name = [question.patientName, question.birthDate.map { "born \($0)" }].compactMap { $0 }.joined(separator: ", ")
        switch patients.count {
        case 0:
            return .answer("I found no patient matching \"\(name)\" in the records. Check the spelling, or give a birth date.")
        case 1:
            guard let id = patients[0]["id"]?.stringValue else { return .answer("The patient record has no id.") }
            return call(for: topic, patientID: id)
        default:
            var text = "Several patients match \"\(name)\":\n"
            for patient in patients {
                text += "- \(OfflineAnswer.describe(patient))\n"
            }
            if exchange.result?["more_available"] == .bool(true) { text += "- …and more\n" }
            text += "\nWhich one do you mean? Use more of the name, or the birth date."
            return .answer(text)
        }
    }

    private func call(for topic: Question.Topic, patientID: String) -> Step {
        let patient = JSONValue.string(patientID)
        func search(_ type: String, _ count: Int64) -> Step {
            call("search_clinical", ["patient_id": patient, "resource_type": .string(type), "count": .integer(count)])
        }
        switch topic {
        case .conditions: return search("Condition", 50)
        case .medications: return search("MedicationRequest", 50)
        case .allergies: return search("AllergyIntolerance", 50)
        case .immunizations: return search("Immunization", 50)
        case .encounters: return search("Encounter", 10)
        case .labs, .vitals, .summary: return call("patient_summary", ["patient_id": patient])
        case .observation(let code, _):
            return call("observation_trend", ["patient_id": patient, "code": .string(code)])
        }
    }

    private func call(_ name: String, _ arguments: [String: JSONValue]) -> Step {
        .call(name: name, arguments: .object(arguments), id: "call_offline_\(exchanges.count + 1)")
    }

    /// The last `Patient/<id>` written in `text`.
    static func lastPatientReference(in text: String) -> String? {
        var found: String?
        var rest = Substring(text)
        while let range = rest.range(of: "Patient/") {
            let id = rest[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
            if !id.isEmpty { found = String(id) }
            rest = rest[range.upperBound...]
        }
        return found
    }

    static let help = """
        I am Bedside's offline model: I answer from the patient records with fixed rules, without a language \
        model, so I only understand a few kinds of question. For one patient at a time, named in the question, \
        I can list their conditions, medications, allergies, immunizations or recent encounters, show their \
        latest labs or vitals, follow one lab or vital over time (HbA1c, glucose, cholesterol, creatinine, \
        blood pressure, weight, BMI, …), or summarise their record. For example: "What conditions does Maria \
        Garcia have?" or "How has her HbA1c changed?"

        To ask anything else, configure a real model: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local \
        server such as Ollama, or the AZURE_OPENAI_* variables) and restart Bedside.
        """
}
