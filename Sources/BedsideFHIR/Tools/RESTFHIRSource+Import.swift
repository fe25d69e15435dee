import AsyncHTTPClient
import BedsideCore
public import Foundation
import NIOCore
import NIOHTTP1

extension RESTFHIRSource {
    /// Imports a patient into the FHIR server as one transaction, with the same rules as
    /// ``FHIRStore/importPatient(_:maxBytes:)``: a Patient or a Bundle holding one, `urn:uuid`
    /// references resolved, every resource written with `PUT Type/id` so that importing the same
    /// ids again updates instead of duplicating. Input the import refuses throws
    /// ``FHIRImportError``; a server that refuses the transaction throws one with status 422 and
    /// the server's diagnostics; a server that cannot be reached throws ``FHIRServerError``.
    @discardableResult
    public func importPatient(_ json: Data, maxBytes: Int = FHIRStore.defaultMaxImportBytes) async throws -> ImportResult {
        let plan = try ImportPlan.prepare(json, maxBytes: maxBytes)
        var entries: [JSONValue] = []
        entries.reserveCapacity(plan.resources.count)
        for resource in plan.resources {
            entries.append(
                .object([
                    "fullUrl": .string("\(configuration.baseURL)/\(resource.type)/\(resource.id)"),
                    "resource": try FHIRJSON.parse(resource.json),
                    "request": .object(["method": .string("PUT"), "url": .string("\(resource.type)/\(resource.id)")]),
                ])
            )
        }
        let bundle = JSONValue.object([
            "resourceType": .string("Bundle"), "type": .string("transaction"), "entry": .array(entries),
        ])
        var request = HTTPClientRequest(url: configuration.baseURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/fhir+json")
        request.headers.add(name: "Accept", value: "application/fhir+json")
        if let authorization = try await authorizationHeader() { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(string: FHIRJSON.text(bundle)))
        let (status, body) = try await send(request, to: configuration.baseURL)
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
