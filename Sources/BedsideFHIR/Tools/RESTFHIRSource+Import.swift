import AsyncHTTPClient
import BedsideCore
public import Foundation
import NIOCore
import NIOHTTP1

extension RESTFHIRSource {
    /// Imports a patient into the FHIR server as one transaction, with the same rules as
    /// ``FHIRStore/importPatient(_:maxBytes:)``: a Patient or a Bundle holding one, `urn:uuid`
    /// references resolved, every compartment resource the imported patient's.
    ///
    /// Only the types of ``importedClinicalTypes`` and ``importedSharedTypes`` are sent; any other
    /// refuses the import before a request is made. The Patient and its clinical resources are
    /// written with `PUT Type/id`, so that importing the same ids again updates instead of
    /// duplicating, after one batch read has shown that none of those ids is another patient's
    /// record on the server (``checkServerOwners(_:)``). Shared resources are sent as conditional
    /// creates (`POST Type` with `ifNoneExist`, see ``ifNoneExist(_:id:)``) under a fresh
    /// `urn:uuid:` that the bundle's references are rewritten to: the server creates one when it
    /// holds no match and otherwise points the references at its own, which is never updated.
    ///
    /// Input the import refuses throws ``FHIRImportError``; a server that refuses the transaction
    /// throws one with status 422 and the server's diagnostics; a server that cannot be reached
    /// throws ``FHIRServerError``.
    @discardableResult
    public func importPatient(_ json: Data, maxBytes: Int = FHIRStore.defaultMaxImportBytes) async throws -> ImportResult {
        let plan = try ImportPlan.prepare(json, maxBytes: maxBytes)
        try Self.checkAllowedTypes(plan, server: configuration.baseURL)
        try await checkServerOwners(plan)
        var created: [String: String] = [:]  // Type/id of a shared resource -> the urn:uuid its create runs under
        for resource in plan.resources where resource.shared {
            created["\(resource.type)/\(resource.id)"] = "urn:uuid:\(UUID().uuidString.lowercased())"
        }
        var entries: [JSONValue] = []
        entries.reserveCapacity(plan.resources.count)
        for resource in plan.resources {
            var body = try FHIRJSON.parse(resource.json)
            if !created.isEmpty { body = Self.replacingReferences(in: body, created) }
            if resource.shared, let urn = created["\(resource.type)/\(resource.id)"], case .object(var members) = body {
                members["id"] = nil  // a create takes the server's id
                entries.append(
                    .object([
                        "fullUrl": .string(urn),
                        "resource": .object(members),
                        "request": .object([
                            "method": .string("POST"), "url": .string(resource.type),
                            "ifNoneExist": .string(Self.ifNoneExist(body, id: resource.id)),
                        ]),
                    ])
                )
            } else {
                let path = "\(Self.pathSegment(resource.type))/\(Self.pathSegment(resource.id))"
                entries.append(
                    .object([
                        "fullUrl": .string("\(configuration.baseURL)/\(path)"),
                        "resource": body,
                        "request": .object(["method": .string("PUT"), "url": .string(path)]),
                    ])
                )
            }
        }
        let bundle = JSONValue.object([
            "resourceType": .string("Bundle"), "type": .string("transaction"), "entry": .array(entries),
        ])
        let (status, body) = try await post(bundle)
        switch status {
        case 200..<300:
            return ImportResult(patientID: plan.patientID, counts: plan.counts)
        case 401, 403:
            try check(status, body)
            return ImportResult(patientID: plan.patientID, counts: plan.counts)  // not reached: check throws
        default:
            let detail = Self.diagnostics(body).map { ": \($0)" } ?? ""
            throw FHIRImportError(
                status: status >= 500 ? 502 : 422,
                FHIRImportError.IssueCode(rawValue: "processing"),
                "The FHIR server at \(configuration.baseURL) refused the transaction (\(status))\(detail)"
            )
        }
    }
}
