/// One search parameter Bedside indexes: its kind and the resource elements it reads.
///
/// Paths are dotted element names; a `[x]` suffix matches any choice type (`effective[x]` reads
/// `effectiveDateTime` or `effectivePeriod`). String and token parameters index every path; a date
/// parameter indexes the first path that has a value (Condition's onset, else its recorded date).
struct SearchParameter: Sendable {
    enum Kind: Sendable { case string, token, date }

    let name: String
    let kind: Kind
    let paths: [String]

    static func string(_ name: String, _ paths: String...) -> Self { Self(name: name, kind: .string, paths: paths) }
    static func token(_ name: String, _ paths: String...) -> Self { Self(name: name, kind: .token, paths: paths) }
    static func date(_ name: String, _ paths: String...) -> Self { Self(name: name, kind: .date, paths: paths) }
}

/// The parameters each resource type supports, and the names that stand for another.
struct SearchParameterCatalog: Sendable {
    let parameters: [String: SearchParameter]
    /// Alternative names, e.g. `subject` for `patient` or `authoredon` for MedicationRequest's `date`.
    let aliases: [String: String]

    func parameter(named name: String) -> SearchParameter? {
        parameters[aliases[name] ?? name]
    }

    /// Every name a client may use, for error messages.
    var names: [String] { (Array(parameters.keys) + Array(aliases.keys)).sorted() }

    init(_ parameters: [SearchParameter], aliases: [String: String] = [:]) {
        self.parameters = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0) })
        self.aliases = aliases
    }

    /// The catalog of `type`; types without one are still stored and searchable by `_id` and patient.
    static func of(_ type: String) -> SearchParameterCatalog {
        byType[type] ?? empty
    }

    static let empty = SearchParameterCatalog([])

    static let byType: [String: SearchParameterCatalog] = [
        "Patient": SearchParameterCatalog([
            .string("name", "name"),
            .string("family", "name.family"),
            .string("given", "name.given"),
            .string("address", "address"),
            .date("birthdate", "birthDate"),
            .token("gender", "gender"),
            .token("identifier", "identifier"),
        ]),
        "Encounter": SearchParameterCatalog(
            [
                .date("date", "period"),
                .token("status", "status"),
                .token("class", "class"),
                .token("type", "type"),
                .token("reason-code", "reasonCode"),
            ],
            aliases: ["code": "type"]
        ),
        "Condition": SearchParameterCatalog([
            .token("code", "code"),
            .token("clinical-status", "clinicalStatus"),
            .token("verification-status", "verificationStatus"),
            .token("category", "category"),
            .date("date", "onset[x]", "recordedDate"),
            .date("onset-date", "onset[x]"),
            .date("recorded-date", "recordedDate"),
        ]),
        "Observation": SearchParameterCatalog([
            .token("code", "code"),
            .token("component-code", "component.code"),
            .token("category", "category"),
            .token("status", "status"),
            .date("date", "effective[x]"),
        ]),
        "MedicationRequest": SearchParameterCatalog(
            [
                .token("code", "medication[x]"),
                .token("status", "status"),
                .token("intent", "intent"),
                .token("category", "category"),
                .date("date", "authoredOn"),
            ],
            aliases: ["authoredon": "date"]
        ),
        "AllergyIntolerance": SearchParameterCatalog([
            .token("code", "code"),
            .token("clinical-status", "clinicalStatus"),
            .token("verification-status", "verificationStatus"),
            .token("category", "category"),
            .token("type", "type"),
            .token("criticality", "criticality"),
            .date("date", "recordedDate"),
        ]),
        "Procedure": SearchParameterCatalog([
            .token("code", "code"),
            .token("status", "status"),
            .token("category", "category"),
            .date("date", "performed[x]"),
        ]),
        "Immunization": SearchParameterCatalog(
            [
                .token("vaccine-code", "vaccineCode"),
                .token("status", "status"),
                .date("date", "occurrence[x]"),
            ],
            aliases: ["code": "vaccine-code"]
        ),
        "DiagnosticReport": SearchParameterCatalog([
            .token("code", "code"),
            .token("status", "status"),
            .token("category", "category"),
            .date("date", "effective[x]"),
        ]),
        "CarePlan": SearchParameterCatalog(
            [
                .token("category", "category"),
                .token("status", "status"),
                .token("intent", "intent"),
                .token("activity-code", "activity.detail.code"),
                .date("date", "period"),
            ],
            aliases: ["code": "activity-code"]
        ),
    ]
}
