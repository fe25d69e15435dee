public import BedsideCore

extension FHIRTools {
    /// The five tools, with the JSON Schema of their arguments.
    public static let definitions: [ToolDefinition] = [
        ToolDefinition(
            name: "find_patients",
            description: """
                Find patients by name (any words of given or family name), birth date (YYYY-MM-DD, or a prefix \
                like ge1950), gender (male, female, other, unknown) or identifier. Returns id, name, gender, \
                birth date and death date when recorded. Use the id with the other tools.
                """,
            parameters: schema(
                [
                    "name": string("Words of the patient's name, e.g. 'maria garcia'."),
                    "birthdate": string("Birth date YYYY-MM-DD, or with a prefix: ge, le, gt, lt, eq."),
                    "gender": string("male, female, other or unknown."),
                    "identifier": string("An identifier value, or system|value."),
                    "count": countSchema,
                ],
                required: []
            )
        ),
        ToolDefinition(
            name: "patient_summary",
            description: """
                A patient's demographics, active conditions, active medications, allergies, and the latest value \
                of each vital sign and lab test, each with its resource reference and date.
                """,
            parameters: schema(["patient_id": patientIDSchema], required: ["patient_id"])
        ),
        ToolDefinition(
            name: "search_clinical",
            description: """
                Search one type of a patient's clinical records, newest first, with optional filters. Returns \
                compact rows (ref, date, display, code, value, unit, status), the total and whether more exist.
                """,
            parameters: schema(
                [
                    "patient_id": patientIDSchema,
                    "resource_type": .object([
                        "type": .string("string"),
                        "enum": .array(clinicalTypes.map(JSONValue.string)),
                        "description": .string("The kind of record."),
                    ]),
                    "code": string("A code (SNOMED, LOINC, RxNorm, CVX), or system|code; several separated by commas."),
                    "date_from": string("Earliest date, YYYY, YYYY-MM or YYYY-MM-DD."),
                    "date_to": string("Latest date, YYYY, YYYY-MM or YYYY-MM-DD."),
                    "status": string("Status: for conditions and allergies the clinical status (active, resolved)."),
                    "category": string("Category, e.g. laboratory or vital-signs for observations."),
                    "count": countSchema,
                ],
                required: ["patient_id", "resource_type"]
            )
        ),
        ToolDefinition(
            name: "observation_trend",
            description: """
                All values of one observation code for a patient, oldest first, with the trend: first, last, \
                lowest, highest, change and direction (rising, falling, stable).
                """,
            parameters: schema(
                [
                    "patient_id": patientIDSchema,
                    "code": string("The LOINC code, e.g. 4548-4 (HbA1c), 2339-0 (glucose), 29463-7 (weight), or system|code."),
                    "date_from": string("Earliest date, YYYY, YYYY-MM or YYYY-MM-DD."),
                    "date_to": string("Latest date, YYYY, YYYY-MM or YYYY-MM-DD."),
                ],
                required: ["patient_id", "code"]
            )
        ),
        ToolDefinition(
            name: "read_resource",
            description: "One FHIR resource by type and id, without its narrative.",
            parameters: schema(
                [
                    "resource_type": string("The resource type, e.g. Observation."),
                    "id": string("The resource id (the part after the slash in a ref)."),
                ],
                required: ["resource_type", "id"]
            )
        ),
    ]

    private static func schema(_ properties: [String: JSONValue], required: [String]) -> JSONValue {
        .object([
            "type": .string("object"),
            "properties": .object(properties),
            "required": .array(required.map(JSONValue.string)),
            "additionalProperties": .bool(false),
        ])
    }

    private static func string(_ description: String) -> JSONValue {
        .object(["type": .string("string"), "description": .string(description)])
    }

    private static let patientIDSchema = string("The patient's id, from find_patients.")

    private static let countSchema: JSONValue = .object([
        "type": .string("integer"), "minimum": .integer(1), "maximum": .integer(100),
        "description": .string("How many results at most."),
    ])
}
