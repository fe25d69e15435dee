import BedsideAuth
import BedsideCore
import BedsideProtocol
import Foundation
import Hummingbird
import Logging
import Synchronization

/// `POST /patient` imports a patient's record; `GET /patient/{id}` reads it back with a summary.
///
/// Refused imports answer with a FHIR `OperationOutcome`, the body FHIR clients expect; every
/// other refusal (origin, unknown patient, no clinical data) uses the usual `{"error","code"}`.
/// An import may write patient data, so it obeys the same origin allow-list as `/ws`: a
/// cross-site page must not be able to post a record. At most ``maxConcurrentImports`` imports
/// are read and parsed at once (each may hold tens of MiB); one more is answered 429.
struct PatientRoutes: Sendable {
    let records: (any PatientRecords)?
    let origins: OriginPolicy
    let maxImportBytes: Int
    /// Imports need the importer role; reading a patient the clinician or auditor role (admin: both).
    var authentication: Authentication = .none
    /// Where imports and reads are recorded, under the caller's session ``auditSessionID``.
    var audit: (any AccessAudit)?
    /// Imports read and parsed at once; one more is answered 429 with an `OperationOutcome`
    /// (issue `throttled`) and `Retry-After: 1`. 0: unlimited. `--max-concurrent-imports`.
    var maxConcurrentImports = 0
    /// Where refused imports are counted (`bedside_limit_refusals_total{limit="concurrent_imports"}`).
    var metrics: BedsideMetrics?
    /// The imports under way, shared by every request these routes answer.
    private let running = ImportGate()

    /// The session of the caller's own access audit that `POST /patient` and `GET /patient/{id}`
    /// write to: `GET /sessions/http-patient/audit` reads it.
    static let auditSessionID = "http-patient"

    func add(to router: Router<BasicRequestContext>) {
        router.post("/patient") { request, context in
            try origins.check(request, to: "import patients")
            let caller = try await authentication.require(request, anyOf: [.importer])
            let records = try available()
            guard running.enter(limit: maxConcurrentImports) else {
                metrics?.limitReached(.concurrentImports)
                context.logger.info("Refused a patient import: too many at once", metadata: ["limit": "\(maxConcurrentImports)"])
                // Answered at once, body unread: a client still sending can stop (on a kept-alive
                // connection the server then skips the rest of the body).
                return throttled()
            }
            defer { running.leave() }
            let started = ContinuousClock.now
            do {
                let body = try await collect(request.body)
                let imported = try await records.importPatient(body)
                // Ids, sizes and timings only: the record itself is patient data.
                context.logger.info(
                    "Imported a patient",
                    metadata: [
                        "patient.id": "\(imported.patientID)",
                        "import.bytes": "\(body.count)",
                        "import.resources": "\(imported.counts.values.reduce(0, +))",
                        "duration_ms": "\(Int((ContinuousClock.now - started).milliseconds))",
                    ]
                )
                try await record(
                    tool: "import_patient",
                    patientIDs: [imported.patientID],
                    resources: ["Patient/\(imported.patientID)"],
                    caller: caller
                )
                return created(patientID: imported.patientID, counts: imported.counts)
            } catch let error as PatientImportError {
                context.logger.info(
                    "Refused a patient import",
                    metadata: ["http.status": "\(error.status)", "fhir.issue": "\(error.issueCode)"]
                )
                // An import refused for whose records it holds was an attempt on patient data:
                // the auditor sees it under the patients it named, the reached-for one included.
                if !error.patientIDs.isEmpty {
                    try await record(
                        tool: "import_patient_refused",
                        patientIDs: error.patientIDs,
                        resources: error.resources,
                        caller: caller
                    )
                }
                return operationOutcome(error)
            }
        }

        router.get("/patient/:id") { request, context in
            let caller = try await authentication.require(request, anyOf: [.clinician, .auditor])
            let id = context.parameters.get("id") ?? ""
            guard PatientID.isValid(id) else {
                throw APIError(.badRequest, .invalidPatientID, "A patient id is 1 to 64 characters of A-Z, a-z, 0-9, '-' or '.'.")
            }
            guard let json = try await available().patient(id: id) else {
                throw APIError(.notFound, .notFound, "Patient/\(id) is not stored here: import it with POST /patient.")
            }
            try await record(tool: "read_patient", patientIDs: [id], resources: ["Patient/\(id)"], caller: caller)
            return Response.json(json)
        }
    }

    /// Writes the import or read to the caller's access audit. Fails closed: a read that
    /// cannot be audited is not answered.
    private func record(tool: String, patientIDs: [String], resources: [String], caller: Caller) async throws {
        guard let audit, let session = SessionID(Self.auditSessionID, owner: caller.principal.key) else { return }
        try await audit.record(
            AccessRecord(
                sessionID: session,
                turnID: nil,
                toolCallID: nil,
                tool: tool,
                patientIDs: patientIDs,
                resources: resources,
                timeMicros: Timestamp.now().microseconds
            )
        )
    }

    private func available() throws(APIError) -> any PatientRecords {
        guard let records else {
            throw APIError(.serviceUnavailable, .clinicalDataUnavailable, "This server has no clinical data store configured.")
        }
        return records
    }

    /// Reads the body, keeping at most `maxImportBytes`. A larger body is read to its end but not
    /// kept: answering before the client has finished sending would make its TCP stack see a reset
    /// instead of the 413.
    private func collect(_ body: RequestBody) async throws -> Data {
        var buffer = ByteBuffer()
        var total = 0
        for try await chunk in body {
            total += chunk.readableBytes
            if total <= maxImportBytes { buffer.writeImmutableBuffer(chunk) }
        }
        guard total <= maxImportBytes else {
            throw PatientImportError(
                status: 413,
                issueCode: "too-costly",
                message: "The body is \(total) bytes, over the import limit of \(maxImportBytes) bytes (--max-import-bytes)."
            )
        }
        return Data(buffer.readableBytesView)
    }

    private func throttled() -> Response {
        var response = operationOutcome(
            PatientImportError(
                status: 429,
                issueCode: "throttled",
                message:
                    "This server imports at most \(maxConcurrentImports) patients at once (--max-concurrent-imports), and that many are under way: retry in a moment."
            )
        )
        response.headers[.retryAfter] = "1"
        return response
    }

    private func created(patientID: String, counts: [String: Int]) -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.member("patient_id", patientID)
        json.key("counts")
        json.beginObject()
        for (type, count) in counts.sorted(by: { $0.key < $1.key }) { json.member(type, Int64(count)) }
        json.endObject()
        json.endObject()
        var response = Response.json(json.text, status: .created)
        response.headers[.location] = "/patient/\(patientID)"
        return response
    }

    private func operationOutcome(_ error: PatientImportError) -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.member("resourceType", "OperationOutcome")
        json.key("issue")
        json.beginArray()
        json.beginObject()
        json.member("severity", "error")
        json.member("code", error.issueCode)
        json.member("diagnostics", error.message)
        json.endObject()
        json.endArray()
        json.endObject()
        return Response.json(json.text, status: HTTPResponse.Status(code: error.status))
    }

}

/// Counts the imports being read and parsed, so that one beyond the limit can be refused at once.
final class ImportGate: Sendable {
    private let count = Mutex(0)

    /// Takes a place and returns true, or returns false when `limit` places are taken; a
    /// `limit` of 0 never refuses. Every true must be paired with one ``leave()``.
    func enter(limit: Int) -> Bool {
        count.withLock { count in
            guard limit <= 0 || count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        count.withLock { $0 -= 1 }
    }
}
