// libFuzzer target `fhir-import`: arbitrary bytes as the body of a patient import. Compiled by
// scripts/fuzz.sh into the module BedsideFHIR with the planner's files (ImportPlan*, the
// compartment, the reference rewriter, ids, the search index and FHIR JSON), so it runs
// `ImportPlan.prepare`, which is everything an import does before the write transaction.
import BedsideCore
import Foundation

/// The import size limit the harness applies; libFuzzer's `-max_len` keeps inputs far below it.
private let maxBytes = 1 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFHIRImport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = data.map { Data(bytes: $0, count: size) } ?? Data()
    do {
        let plan = try ImportPlan.prepare(body, maxBytes: maxBytes)
        check(plan)
    } catch let error as FHIRImportError {
        require([400, 413, 422].contains(error.status), "unexpected status \(error.status)")
        require(!error.message.isEmpty, "refusal without a message")
        // The refusal goes back as an OperationOutcome: it must be JSON a client can read.
        let outcome = error.operationOutcome()
        require((try? FHIRJSON.parse(outcome)) == error.operationOutcomeValue, "OperationOutcome does not round-trip")
    } catch {
        fatalError("the planner threw \(type(of: error)), not FHIRImportError: \(error)")
    }
    return 0
}

/// What the write transaction relies on in a plan.
private func check(_ plan: ImportPlan) {
    require(FHIRIdentifier.isValid(plan.patientID), "invalid patient id \(plan.patientID)")
    let patients = plan.resources.filter { $0.type == "Patient" }
    require(patients.count == 1 && patients[0].id == plan.patientID, "not exactly the one Patient")
    require(plan.counts.values.reduce(0, +) == plan.resources.count, "counts do not add up")
    var keys = Set<String>()
    for resource in plan.resources {
        require(FHIRIdentifier.isValid(resource.id), "invalid id \(resource.id)")
        require(FHIRResourceType.isKnown(resource.type), "unknown type \(resource.type)")
        require(keys.insert("\(resource.type)/\(resource.id)").inserted, "duplicate \(resource.type)/\(resource.id)")
        require(resource.shared == !PatientCompartment.contains(resource.type), "shared flag wrong")
        require(resource.patientID == nil || resource.patientID == plan.patientID, "resource of another patient")
        if !resource.shared { require(resource.patientID == plan.patientID, "compartment resource without owner") }
        // The stored text must parse back to a resource with the planned type and id.
        guard let stored = try? FHIRJSON.parse(resource.json) else {
            fatalError("stored JSON of \(resource.type)/\(resource.id) does not parse: \(resource.json.prefix(200))")
        }
        require(stored["resourceType"]?.stringValue == resource.type, "stored type differs")
        require(stored["id"]?.stringValue == resource.id, "stored id differs")
        for range in resource.index.dates {
            require(range.start <= range.end, "date row with start after end")
        }
    }
    for reference in plan.externalReferences {
        require(FHIRIdentifier.isValid(reference.id), "external reference with invalid id \(reference.id)")
        require(!keys.contains("\(reference.type)/\(reference.id)"), "reference to the bundle treated as external")
    }
}
