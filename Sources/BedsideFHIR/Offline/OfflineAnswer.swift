import BedsideCore

/// The offline model's answers, written from tool results: every statement names its record.
enum OfflineAnswer {
    /// "Maria Garcia (Patient/p-1), female, born 1950-04-02".
    static func describe(_ patient: JSONValue) -> String {
        var text = patient["name"]?.stringValue ?? "(no name)"
        if let id = patient["id"]?.stringValue { text += " (Patient/\(id))" }
        if let gender = patient["gender"]?.stringValue { text += ", \(gender)" }
        if let born = patient["birth_date"]?.stringValue { text += ", born \(born)" }
        if let died = patient["deceased"]?.stringValue { text += ", died \(day(died))" }
        return text
    }

    static func compose(topic: Question.Topic, patient: JSONValue?, result: JSONValue) -> String {
        let who = (patient ?? result["patient"]).map(describe) ?? "The patient"
        let name = (patient ?? result["patient"])?["name"]?.stringValue ?? "this patient"
        switch topic {
        case .conditions:
            return grouped(
                result,
                who: who,
                name: name,
                noun: "conditions",
                activeTitle: "Active conditions",
                otherTitle: "Resolved or inactive"
            ) {
                $0["status"]?.stringValue == "active"
            }
        case .medications:
            return grouped(
                result,
                who: who,
                name: name,
                noun: "medications",
                activeTitle: "Active medications",
                otherTitle: "Earlier prescriptions"
            ) {
                $0["status"]?.stringValue == "active"
            }
        case .allergies:
            return listing(result, who: who, name: name, noun: "allergies or intolerances", title: "Allergies and intolerances")
        case .immunizations:
            return listing(result, who: who, name: name, noun: "immunizations", title: "Immunizations, newest first")
        case .encounters:
            return listing(result, who: who, name: name, noun: "encounters", title: "Most recent encounters")
        case .labs:
            return measurements(result["latest_labs"], who: who, name: name, title: "Latest lab results", noun: "lab results")
        case .vitals:
            return measurements(result["latest_vitals"], who: who, name: name, title: "Latest vital signs", noun: "vital signs")
        case .summary:
            return summary(result, who: who)
        case .observation(_, let label):
            return trend(result, who: who, name: name, label: label)
        }
    }

    private static func rows(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let rows)? = value { return rows }
        return []
    }

    /// "- Essential hypertension, since 2015-03-02 (Condition/c-1)".
    static func line(_ row: JSONValue) -> String {
        var text = "- " + (row["display"]?.stringValue ?? "(no description)")
        if let value = row["value"] {
            switch value {
            case .string(let text2): text += ": \(text2)"
            default: if let number = CompactResource.number(value) { text += ": \(CompactResource.format(number))" }
            }
            if let unit = row["unit"]?.stringValue { text += " \(unit)" }
        }
        if let date = row["date"]?.stringValue {
            text += ", \(day(date))"
            if let end = row["end"]?.stringValue { text += " to \(day(end))" }
        }
        if let criticality = row["criticality"]?.stringValue { text += ", criticality \(criticality)" }
        if let ref = row["ref"]?.stringValue { text += " (\(ref))" }
        return text
    }

    static func day(_ date: String) -> String { String(date.prefix(10)) }

    private static func more(_ result: JSONValue, shown: Int) -> String {
        guard result["more_available"] == .bool(true) else { return "" }
        let total = result["total"]?.integerValue.map { " of \($0)" } ?? ""
        return "\n(Showing \(shown)\(total); more are recorded.)"
    }

    private static func grouped(
        _ result: JSONValue,
        who: String,
        name: String,
        noun: String,
        activeTitle: String,
        otherTitle: String,
        isActive: (JSONValue) -> Bool
    ) -> String {
        let all = rows(result["records"])
        guard !all.isEmpty else { return "No \(noun) are recorded for \(name)." }
        let active = all.filter(isActive)
        let other = all.filter { !isActive($0) }
        var text = "\(who).\n\n\(activeTitle) (\(active.count)):\n"
        text += active.isEmpty ? "- none recorded\n" : active.map(line).joined(separator: "\n") + "\n"
        if !other.isEmpty {
            text += "\n\(otherTitle) (\(other.count)):\n" + other.prefix(15).map(line).joined(separator: "\n") + "\n"
            if other.count > 15 { text += "- …and \(other.count - 15) more\n" }
        }
        return text + more(result, shown: all.count)
    }

    private static func listing(_ result: JSONValue, who: String, name: String, noun: String, title: String) -> String {
        let all = rows(result["records"])
        guard !all.isEmpty else { return "No \(noun) are recorded for \(name)." }
        return "\(who).\n\n\(title) (\(all.count)):\n" + all.map(line).joined(separator: "\n") + "\n" + more(result, shown: all.count)
    }

    private static func measurements(_ value: JSONValue?, who: String, name: String, title: String, noun: String) -> String {
        let all = rows(value)
        guard !all.isEmpty else { return "No \(noun) are recorded for \(name)." }
        return "\(who).\n\n\(title):\n" + all.map(line).joined(separator: "\n") + "\n"
    }

    private static func summary(_ result: JSONValue, who: String) -> String {
        var text = "\(who).\n"
        let sections: [(String, String)] = [
            ("active_conditions", "Active conditions"), ("active_medications", "Active medications"),
            ("allergies", "Allergies"), ("latest_vitals", "Latest vital signs"), ("latest_labs", "Latest lab results"),
        ]
        for (key, title) in sections {
            let all = rows(result[key])
            text += "\n\(title) (\(all.count)):\n"
            text += all.isEmpty ? "- none recorded\n" : all.prefix(12).map(line).joined(separator: "\n") + "\n"
            if all.count > 12 { text += "- …and \(all.count - 12) more\n" }
        }
        return text
    }

    private static func trend(_ result: JSONValue, who: String, name: String, label: String) -> String {
        let values = rows(result["values"])
        guard !values.isEmpty else { return "No \(label) results are recorded for \(name)." }
        let unit = result["unit"]?.stringValue.map { " \($0)" } ?? ""
        var text = "\(who).\n\n\(label.prefix(1).uppercased() + label.dropFirst()): \(values.count) result\(values.count == 1 ? "" : "s")"
        if let first = values.first?["date"]?.stringValue, let last = values.last?["date"]?.stringValue {
            text += values.count == 1 ? ", on \(day(first))" : ", \(day(first)) to \(day(last))"
        }
        text += ".\n"
        if let trend = result["trend"], values.count > 1 {
            let first = CompactResource.number(trend["first"]?["value"]).map(CompactResource.format) ?? "?"
            let last = CompactResource.number(trend["last"]?["value"]).map(CompactResource.format) ?? "?"
            let low = CompactResource.number(trend["min"]).map(CompactResource.format) ?? "?"
            let high = CompactResource.number(trend["max"]).map(CompactResource.format) ?? "?"
            let direction = trend["direction"]?.stringValue ?? "unknown"
            text += "Trend: \(direction), from \(first) to \(last)\(unit) (lowest \(low), highest \(high)).\n"
        }
        text += "\nMost recent results:\n" + values.suffix(8).reversed().map(line).joined(separator: "\n") + "\n"
        return text
    }
}
