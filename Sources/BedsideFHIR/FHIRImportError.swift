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
        /// The content uses something this importer does not do (conditional references).
        public static let notSupported = IssueCode(rawValue: "not-supported")

        public var description: String { rawValue }
    }

    /// The HTTP status to answer with: 400 (not JSON), 413 (too large) or 422 (not importable).
    public let status: Int
    public let code: IssueCode
    /// Names the problem and, where it helps, the entry or reference at fault.
    public let message: String

    init(status: Int = 422, _ code: IssueCode, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
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
