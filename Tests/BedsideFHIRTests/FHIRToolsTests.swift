import BedsideCore
import BedsideFHIR
import Foundation
import Synchronization
import Testing

/// An access audit kept in memory: the seam the tools write to.
final class RecordingAudit: AccessAudit {
    private let stored = Mutex<[AccessRecord]>([])
    var all: [AccessRecord] { stored.withLock { $0 } }
    func record(_ record: AccessRecord) async throws { stored.withLock { $0.append(record) } }
    func records(in session: SessionID) async throws -> [AccessRecord] { all.filter { $0.sessionID == session } }
    func records(patient patientID: String) async throws -> [AccessRecord] { all.filter { $0.patientIDs.contains(patientID) } }
}

/// The FHIR tools over the embedded store holding real Synthea patients.
@Suite struct FHIRToolsTests {
    let temporary: TemporaryStore
    let tools: FHIRTools
    let audit = RecordingAudit()
    let margie: String
    let lean: String

    init() async throws {
        temporary = try TemporaryStore()
        let margieData = try Fixture.data("patient-margie-hettinger")
        let leanData = try Fixture.data("patient-lean-davis")
        try await temporary.store.importPatient(margieData)
        try await temporary.store.importPatient(leanData)
        margie = try Fixture.patientID(margieData)
        lean = try Fixture.patientID(leanData)
        tools = FHIRTools(source: EmbeddedFHIRSource(store: temporary.store), audit: audit)
    }

    func call(_ name: String, _ arguments: [String: JSONValue]) async throws -> (JSONValue, ToolOutput) {
        let output = try await tools.call(name, arguments: .object(arguments))
        return (output.isError ? .null : try FHIRJSON.parse(output.content), output)
    }

    @Test func definitionsAreFiveToolsWithObjectSchemas() async throws {
        let definitions = try await tools.definitions()
        #expect(definitions.map(\.name) == ["find_patients", "patient_summary", "search_clinical", "observation_trend", "read_resource"])
        for definition in definitions {
            #expect(definition.parameters["type"] == .string("object"))
            #expect(definition.description.count > 20)
        }
    }

    @Test func findPatientsMatchesEveryWordOfTheName() async throws {
        let (result, _) = try await call("find_patients", ["name": "margie hettinger"])
        #expect(result["count"] == .integer(1))
        guard case .array(let patients)? = result["patients"] else { throw FixtureFailure("no patients") }
        #expect(patients[0]["id"] == .string(margie))
        #expect(patients[0]["name"]?.stringValue?.contains("Margie619") == true)
        #expect(patients[0]["birth_date"] == .string("1995-03-26"))
        let (none, _) = try await call("find_patients", ["name": "nobody here"])
        #expect(none["count"] == .integer(0))
        let (_, refused) = try await call("find_patients", [:])
        #expect(refused.isError)
        #expect(refused.content.contains("at least one of name"))
    }

    @Test func searchClinicalReturnsCompactRowsNewestFirst() async throws {
        let (result, _) = try await call(
            "search_clinical",
            ["patient_id": .string(lean), "resource_type": "condition", "count": .integer(50)]
        )
        #expect(result["resource_type"] == "Condition")
        guard case .array(let rows)? = result["records"] else { throw FixtureFailure("no records") }
        #expect(rows.count == 5)
        #expect(result["total"] == .integer(5))
        #expect(result["more_available"] == .bool(false))
        let displays = rows.compactMap { $0["display"]?.stringValue }
        #expect(displays.contains("Hyperlipidemia"))
        let dates = rows.compactMap { $0["date"]?.stringValue }
        #expect(dates == dates.sorted(by: >))
        for row in rows {
            #expect(row["ref"]?.stringValue?.hasPrefix("Condition/") == true)
            #expect(row["code"]?.stringValue?.hasPrefix("http://snomed.info/sct|") == true)
            #expect(row["status"] != nil)
        }
        let (page, _) = try await call(
            "search_clinical",
            ["patient_id": .string(lean), "resource_type": "Observation", "count": .integer(3)]
        )
        #expect(page["count"] == .integer(3))
        #expect(page["more_available"] == .bool(true))
        #expect(page["total"] == .integer(298))
        let (_, bad) = try await call("search_clinical", ["patient_id": .string(lean), "resource_type": "Claim"])
        #expect(bad.isError)
        #expect(bad.content.contains("resource_type must be one of"))
    }

    @Test func observationTrendFollowsOneCodeOldestFirst() async throws {
        // Body weight of Lean Davis over her encounters.
        let (result, _) = try await call("observation_trend", ["patient_id": .string(lean), "code": "29463-7"])
        guard case .array(let values)? = result["values"] else { throw FixtureFailure("no values") }
        #expect(values.count > 3)
        let dates = values.compactMap { $0["date"]?.stringValue }
        #expect(dates == dates.sorted())
        #expect(result["unit"] == .string("kg"))
        let trend = try #require(result["trend"])
        #expect(["rising", "falling", "stable"].contains(trend["direction"]?.stringValue ?? ""))
        #expect(trend["first"]?["date"] == values.first?["date"])
        #expect(trend["last"]?["date"] == values.last?["date"])
    }

    @Test func patientSummaryAndReadResource() async throws {
        let (summary, _) = try await call("patient_summary", ["patient_id": .string("Patient/\(margie)")])
        #expect(summary["patient"]?["id"] == .string(margie))
        guard case .array(let allergies)? = summary["allergies"] else { throw FixtureFailure("no allergies") }
        #expect(allergies.count == 8)
        guard case .array(let vitals)? = summary["latest_vitals"] else { throw FixtureFailure("no vitals") }
        #expect(!vitals.isEmpty)
        let codes = vitals.compactMap { $0["code"]?.stringValue }
        #expect(Set(codes).count == codes.count)  // one row per code: the latest
        let ref = try #require(allergies.first?["ref"]?.stringValue)
        let id = String(ref.dropFirst("AllergyIntolerance/".count))
        let (read, _) = try await call("read_resource", ["resource_type": "AllergyIntolerance", "id": .string(id)])
        #expect(read["resource"]?["id"] == .string(id))
        #expect(read["resource"]?["text"] == nil)
        let (_, missing) = try await call("read_resource", ["resource_type": "Condition", "id": "nope"])
        #expect(missing.isError)
        let (_, unknown) = try await call("patient_summary", ["patient_id": "nope"])
        #expect(unknown.isError)
        #expect(unknown.content.contains("find_patients"))
    }

    @Test func everyReadIsAuditedWithTheCallsContext() async throws {
        let session = try #require(SessionID("session-audit-1"))
        let context = ToolCallContext(sessionID: session, turnID: "turn-1", toolCallID: "call_9")
        try await ToolCallContext.$current.withValue(context) {
            _ = try await call("search_clinical", ["patient_id": .string(lean), "resource_type": "AllergyIntolerance"])
            _ = try await call("search_clinical", ["patient_id": .string(lean), "resource_type": "Condition"])
        }
        _ = try await call("find_patients", ["name": "margie"])  // outside a turn: not audited
        let records = audit.all
        #expect(records.count == 2)
        // A search that found nothing still looked into the patient's record.
        #expect(records.first?.patientIDs == [lean])
        #expect(records.first?.resources == [])
        let record = try #require(records.last)
        #expect(record.sessionID == session)
        #expect(record.turnID == "turn-1")
        #expect(record.toolCallID == "call_9")
        #expect(record.tool == "search_clinical")
        #expect(record.patientIDs == [lean])
        #expect(record.resources.count == 5)
        #expect(record.resources.allSatisfy { $0.hasPrefix("Condition/") })
    }
}

struct FixtureFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
