public import BedsideCore

/// Why a patient import was refused; nothing was stored.
///
/// ``status`` is the HTTP status a server should answer with and ``code`` the FHIR issue type
/// (`invalid`, `structure`, `not-found`, `too-costly`, …); ``operationOutcome()`` renders both
/// as the body FHIR clients expect.
public struct FHIRImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A FHIR `OperationOutcome.issue.code` (value set `issue-type`).
    public struct IssueCode: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        /// The content is not JSON or breaks a FHIR rule.
        public static let invalid = IssueCode(rawValue: "invalid")
        /// The bundle or resource is shaped wrongly (an entry without a resource, a missing field).
        public static let structure = IssueCode(rawValue: "structure")
        /// A reference points to nothing in the bundle or the store.
        public static let notFound = IssueCode(rawValue: "not-found")
        /// The content is larger than the import accepts.
        public static let tooCostly = IssueCode(rawValue: "too-costly")
        /// The content uses something this importer does not do (conditional references, a
        /// resource type an external server is not sent).
        public static let notSupported = IssueCode(rawValue: "not-supported")
        /// A resource of the input belongs to another patient, or to none of the import.
        public static let businessRule = IssueCode(rawValue: "business-rule")
        /// An id of the input is already another patient's record.
        public static let conflict = IssueCode(rawValue: "conflict")

        public var description: String { rawValue }
    }

    /// The HTTP status to answer with: 400 (not JSON), 413 (too large) or 422 (not importable).
    public let status: Int
    public let code: IssueCode
    /// Names the problem and, where it helps, the entry or reference at fault.
    public let message: String
    /// The patients a refusal about patient data concerns, the imported one first (then the one
    /// the input reached for, even when the message does not name it): for the access audit.
    /// Empty for refusals of the input's form.
    public let patients: [String]
    /// The `Type/id` of the resources at fault, for the access audit.
    public let resources: [String]

    init(status: Int = 422, _ code: IssueCode, _ message: String, patients: [String] = [], resources: [String] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.patients = patients
        self.resources = resources
    }

    public var description: String { "\(status) \(code): \(message)" }

    /// An `OperationOutcome` resource describing this error, as a JSON value.
    public var operationOutcomeValue: JSONValue {
        .object([
            "resourceType": .string("OperationOutcome"),
            "issue": .array([
                .object([
                    "severity": .string("error"),
                    "code": .string(code.rawValue),
                    "diagnostics": .string(message),
                ])
            ]),
        ])
    }

    /// The `OperationOutcome` JSON body for this error.
    public func operationOutcome() -> String {
        FHIRJSON.text(operationOutcomeValue)
    }
}
