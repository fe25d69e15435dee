import Foundation

/// What a clinician's question asks, as the offline model understands it: which patient and
/// which part of their record.
struct Question: Equatable {
    enum Topic: Equatable {
        case conditions, medications, allergies, immunizations, encounters, labs, vitals, summary
        /// One observation code over time, e.g. HbA1c.
        case observation(code: String, name: String)
    }

    /// The words that name the patient, when the question names one.
    var patientName: String?
    /// A birth date (YYYY-MM-DD) given to pick the patient out.
    var birthDate: String?
    /// What is asked; nil when the question is about nothing the offline model knows.
    var topic: Topic?

    /// Observation names and their LOINC codes, longest names first so "ldl cholesterol" wins over "cholesterol".
    static let observations: [(words: [String], code: String, name: String)] = [
        (["hba1c", "a1c", "hemoglobin a1c", "glycated"], "4548-4", "HbA1c"),
        (["glucose", "blood sugar"], "2339-0", "glucose"),
        (["ldl"], "18262-6", "LDL cholesterol"),
        (["hdl"], "2085-9", "HDL cholesterol"),
        (["triglyceride"], "2571-8", "triglycerides"),
        (["cholesterol"], "2093-3", "total cholesterol"),
        (["creatinine"], "2160-0", "creatinine"),
        (["egfr", "gfr", "kidney function"], "33914-3", "eGFR"),
        (["blood pressure", "bp"], "85354-9", "blood pressure"),
        (["heart rate", "pulse"], "8867-4", "heart rate"),
        (["bmi", "body mass"], "39156-5", "BMI"),
        (["weight"], "29463-7", "body weight"),
        (["height"], "8302-2", "body height"),
        (["temperature", "fever"], "8310-5", "body temperature"),
    ]

    static let topicWords: [(words: [String], topic: Topic)] = [
        (["allerg"], .allergies),
        (["immuniz", "immunis", "vaccin", "shot"], .immunizations),
        (["medication", "medicine", "drug", "prescri", "taking", "meds", "pills"], .medications),
        (["encounter", "visit", "appointment", "admission", "admitted"], .encounters),
        (["vital"], .vitals),
        (["lab", "test result", "blood work", "bloodwork", "results"], .labs),
        (["condition", "diagnos", "problem", "disease", "illness", "suffer", "history of"], .conditions),
        (["summary", "summarize", "summarise", "overview", "tell me about", "who is", "chart"], .summary),
    ]

    /// Words that start questions or name record kinds, never a patient's name.
    static let notNames: Set<String> = [
        "what", "which", "who", "whose", "does", "do", "did", "is", "are", "was", "were", "has", "have", "had", "show",
        "list", "give", "tell", "get", "find", "please", "summarize", "summarise", "how", "when", "where", "can",
        "could", "would", "i", "the", "a", "an", "and", "or", "me", "about", "for", "of", "patient", "patients",
        "latest", "last", "recent", "current", "active", "all", "any", "her", "his", "their", "hba1c", "a1c", "bmi",
        "ldl", "hdl", "egfr", "gfr", "bp", "covid", "covid-19", "mr", "mrs", "ms", "dr", "trend", "summary",
        "conditions", "medications", "allergies", "immunizations", "vaccines", "labs", "vitals", "encounters",
        "visits", "what's", "whats", "born", "named", "called", "there", "be", "it", "in", "on", "with", "to", "my", "our", "this", "that",
    ]

    init(patientName: String?, birthDate: String? = nil, topic: Topic?) {
        self.patientName = patientName
        self.birthDate = birthDate
        self.topic = topic
    }

    init(_ text: String) {
        let lower = text.lowercased()
        topic = Self.topic(in: lower)
        let found = Self.name(in: text)
        // Without a known topic only a capitalised full name counts: "Write me a poem" names nobody.
        if let found, topic != nil || (found.capitalised && found.words >= 2) {
            patientName = found.text
        } else {
            patientName = nil
        }
        birthDate = text.firstMatch(of: /\b(\d{4}-\d{2}-\d{2})\b/).map { String($0.1) }
    }

    /// Whether the question says who the patient is.
    var identifiesPatient: Bool { patientName != nil || birthDate != nil }

    private static func topic(in lower: String) -> Topic? {
        for entry in observations where entry.words.contains(where: { contains(lower, word: $0) }) {
            return .observation(code: entry.code, name: entry.name)
        }
        for entry in topicWords where entry.words.contains(where: { lower.contains($0) }) {
            return entry.topic
        }
        return nil
    }

    /// `word` as a whole word (or word start, for stems) in `text`.
    private static func contains(_ text: String, word: String) -> Bool {
        guard let range = text.range(of: word) else { return false }
        let before = range.lowerBound == text.startIndex ? " " : text[text.index(before: range.lowerBound)]
        let after = range.upperBound == text.endIndex ? " " : text[range.upperBound]
        return !before.isLetter && !after.isLetter
    }

    /// The longest run of capitalised words that are not question or record words; failing
    /// that, the words after "for", "of", "does", "did", "patient" or "about".
    private static func name(in text: String) -> (text: String, words: Int, capitalised: Bool)? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "?" || $0 == "," || $0 == "." || $0 == "!" })
            .map { word -> String in
                var word = String(word)
                for suffix in ["'s", "’s", "'", "’"] where word.hasSuffix(suffix) { word.removeLast(suffix.count) }
                return word
            }
        func isNameWord(_ word: String) -> Bool {
            guard let first = word.first, first.isLetter, !notNames.contains(word.lowercased()) else { return false }
            return word.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "'" || $0 == "’" }
        }
        var best: [String] = []
        var run: [String] = []
        for token in tokens {
            if let first = token.first, first.isUppercase, isNameWord(token) {
                run.append(token)
            } else {
                if run.count > best.count { best = run }
                run = []
            }
        }
        if run.count > best.count { best = run }
        if !best.isEmpty { return (best.joined(separator: " "), best.count, true) }
        let markers: Set<String> = ["for", "of", "does", "did", "patient", "about", "is", "summarize", "summarise", "show"]
        let stops: Set<String> = ["have", "has", "had", "take", "takes", "taking", "get", "got", "need", "receive", "received"]
        for (index, token) in tokens.enumerated() where markers.contains(token.lowercased()) {
            let words = tokens[(index + 1)...].prefix { !stops.contains($0.lowercased()) }.filter(isNameWord)
            if !words.isEmpty, words.count <= 4 { return (words.joined(separator: " "), words.count, false) }
        }
        return nil
    }
}
