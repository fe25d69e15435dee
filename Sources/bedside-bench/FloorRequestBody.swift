import BedsideCore

/// The request bodies of a floor turn: the shape and size of Bedside's (its clinical system
/// prompt, the user's message and its five FHIR tools; then the tool round), written with
/// Bedside's JSON writer, so that the model client and the fake model do the same work for both.
extension FloorTurn {
    /// Bedside's system prompt, as its first request of a turn carried it (December 2026).
    static let systemPrompt = """
        You are Bedside, an assistant for clinicians. You answer questions about patients using only the \
        FHIR records that your tools return.

        Rules:
        - Before answering a question about a patient, call the tools to fetch the relevant records. \
        Never answer from memory or general knowledge about this patient.
        - Every statement about a patient must come from a tool result in this conversation. Do not \
        guess, infer unrecorded values or fill gaps.
        - Say which records you used: name the resource type and id of each (for example \
        Observation/obs-123), and the date of each value you quote.
        - When the records do not contain what was asked, say so plainly, say what you looked for, and \
        do not substitute an answer.
        - When a tool reports an error, say that the data could not be retrieved; do not answer as if it \
        were missing.
        - Keep answers short and clinical: values with their units and dates, most recent first.
        - You do not make diagnoses or treatment decisions; the clinician does.
        """

    /// The `tools` array of Bedside's requests, as it sent it (December 2026; `find_patients`,
    /// `patient_summary`, `search_clinical`, `observation_trend`, `read_resource`).
    static let tools =
        #"[{"type":"function","function":{"name":"find_patients","description":"Find patients by name (any wor"#
        + #"ds of given or family name), birth date (YYYY-MM-DD, or a prefix like ge1950), gender (male, female,"#
        + #" other, unknown) or identifier. Returns id, name, gender, birth date and death date when recorded. U"#
        + #"se the id with the other tools.","parameters":{"additionalProperties":false,"properties":{"birthdate"#
        + #"":{"description":"Birth date YYYY-MM-DD, or with a prefix: ge, le, gt, lt, eq.","type":"string"},"co"#
        + #"unt":{"description":"How many results at most.","maximum":100,"minimum":1,"type":"integer"},"gender""#
        + #":{"description":"male, female, other or unknown.","type":"string"},"identifier":{"description":"An i"#
        + #"dentifier value, or system|value.","type":"string"},"name":{"description":"Words of the patient's na"#
        + #"me, e.g. 'maria garcia'.","type":"string"}},"required":[],"type":"object"}}},{"type":"function","fun"#
        + #"ction":{"name":"patient_summary","description":"A patient's demographics, active conditions, active "#
        + #"medications, allergies, and the latest value of each vital sign and lab test, each with its resource"#
        + #" reference and date.","parameters":{"additionalProperties":false,"properties":{"patient_id":{"descri"#
        + #"ption":"The patient's id, from find_patients.","type":"string"}},"required":["patient_id"],"type":"o"#
        + #"bject"}}},{"type":"function","function":{"name":"search_clinical","description":"Search one type of "#
        + #"a patient's clinical records, newest first, with optional filters. Returns compact rows (ref, date, "#
        + #"display, code, value, unit, status), the total and whether more exist.","parameters":{"additionalPro"#
        + #"perties":false,"properties":{"category":{"description":"Category, e.g. laboratory or vital-signs for"#
        + #" observations.","type":"string"},"code":{"description":"A code (SNOMED, LOINC, RxNorm, CVX), or syst"#
        + #"em|code; several separated by commas.","type":"string"},"count":{"description":"How many results at "#
        + #"most.","maximum":100,"minimum":1,"type":"integer"},"date_from":{"description":"Earliest date, YYYY, "#
        + #"YYYY-MM or YYYY-MM-DD.","type":"string"},"date_to":{"description":"Latest date, YYYY, YYYY-MM or YYY"#
        + #"Y-MM-DD.","type":"string"},"patient_id":{"description":"The patient's id, from find_patients.","type"#
        + #"":"string"},"resource_type":{"description":"The kind of record.","enum":["Condition","Observation",""#
        + #"MedicationRequest","AllergyIntolerance","Procedure","Immunization","Encounter","DiagnosticReport","C"#
        + #"arePlan"],"type":"string"},"status":{"description":"Status: for conditions and allergies the clinica"#
        + #"l status (active, resolved).","type":"string"}},"required":["patient_id","resource_type"],"type":"ob"#
        + #"ject"}}},{"type":"function","function":{"name":"observation_trend","description":"All values of one "#
        + #"observation code for a patient, oldest first, with the trend: first, last, lowest, highest, change a"#
        + #"nd direction (rising, falling, stable).","parameters":{"additionalProperties":false,"properties":{"c"#
        + #"ode":{"description":"The LOINC code, e.g. 4548-4 (HbA1c), 2339-0 (glucose), 29463-7 (weight), or sys"#
        + #"tem|code.","type":"string"},"date_from":{"description":"Earliest date, YYYY, YYYY-MM or YYYY-MM-DD.""#
        + #","type":"string"},"date_to":{"description":"Latest date, YYYY, YYYY-MM or YYYY-MM-DD.","type":"strin"#
        + #"g"},"patient_id":{"description":"The patient's id, from find_patients.","type":"string"}},"required""#
        + #":["patient_id","code"],"type":"object"}}},{"type":"function","function":{"name":"read_resource","des"#
        + #"cription":"One FHIR resource by type and id, without its narrative.","parameters":{"additionalProper"#
        + #"ties":false,"properties":{"id":{"description":"The resource id (the part after the slash in a ref).""#
        + #","type":"string"},"resource_type":{"description":"The resource type, e.g. Observation.","type":"stri"#
        + #"ng"}},"required":["resource_type","id"],"type":"object"}}}]"#

    static func body(model: String, messages: [String]) -> String {
        var writer = JSONWriter(capacity: 6_144)
        writer.beginObject()
        writer.member("model", model)
        writer.key("messages")
        writer.beginArray()
        for message in messages { writer.raw(message) }
        writer.endArray()
        writer.key("tools")
        writer.raw(tools)
        writer.member("max_tokens", Int64(4096))
        writer.member("stream", true)
        writer.key("stream_options")
        writer.raw(#"{"include_usage":true}"#)
        writer.endObject()
        return writer.text
    }

    static func message(role: String, content: String) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("role", role)
        writer.member("content", content)
        writer.endObject()
        return writer.text
    }

    static func assistantCall(id: String, name: String, arguments: String) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("role", "assistant")
        writer.key("content")
        writer.null()
        writer.key("tool_calls")
        writer.beginArray()
        writer.beginObject()
        writer.member("id", id)
        writer.member("type", "function")
        writer.key("function")
        writer.beginObject()
        writer.member("name", name)
        writer.member("arguments", arguments)
        writer.endObject()
        writer.endObject()
        writer.endArray()
        writer.endObject()
        return writer.text
    }

    static func toolMessage(id: String, content: String) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("role", "tool")
        writer.member("content", content)
        writer.member("tool_call_id", id)
        writer.endObject()
        return writer.text
    }
}
