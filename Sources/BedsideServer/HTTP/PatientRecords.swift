public import Foundation

/// Where `POST /patient` imports patients and `GET /patient/{id}` reads them: the clinical data
/// seam, implemented by the executable over the embedded FHIR store (or by a test).
///
/// The server only moves bytes: it limits the body, checks the caller's origin and turns
/// ``PatientImportError`` into an `OperationOutcome`. It does not parse FHIR itself, so it
/// stays free of any FHIR store; implementations must keep long work off the caller's thread.
///
/// ```swift
/// let imported = try await records.importPatient(bundle)
/// let json = try await records.patient(id: imported.patientID)
/// ```
public protocol PatientRecords: Sendable {
    /// Imports a FHIR `Patient`, or a `Bundle` holding exactly one, all or nothing.
    ///
    /// Returns the patient's id and how many resources of each type the input held. Throws
    /// ``PatientImportError`` when the input is refused (and then stores nothing); any other error
    /// is a server failure.
    func importPatient(_ body: Data) async throws -> (patientID: String, counts: [String: Int])

    /// The JSON body of `GET /patient/{id}`: `{"patient":…,"counts":…,"summary":…}`, or nil when
    /// no such patient is stored.
    func patient(id: String) async throws -> String?
}

/// Why an import was refused, in the terms of an HTTP answer and a FHIR `OperationOutcome`.
public struct PatientImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status: 400 (not JSON), 413 (too large), 422 (not importable) or 502 (the
    /// external FHIR server failed).
    public var status: Int
    /// The FHIR issue type (`OperationOutcome.issue.code`): `invalid`, `structure`, `not-found`, `too-costly`, …
    public var issueCode: String
    /// Names the problem and, where it helps, the entry or reference at fault.
    public var message: String
    /// The patients a refusal about patient data concerns, the imported one first, then any
    /// other the input reached for (which the message may keep to itself): the route writes
    /// them to the caller's access audit. Empty when the input was refused for its form.
    public var patientIDs: [String]
    /// The `Type/id` of the resources at fault, for the access audit.
    public var resources: [String]

    public init(status: Int, issueCode: String, message: String, patientIDs: [String] = [], resources: [String] = []) {
        self.status = status
        self.issueCode = issueCode
        self.message = message
        self.patientIDs = patientIDs
        self.resources = resources
    }

    public var description: String { "\(status) \(issueCode): \(message)" }
}
