public import Foundation

/// Facts read straight from a FHIR Bundle's JSON, independent of any Bedside parser, for tests to
/// compare Bedside's answers with.
public enum BundleFacts {
    /// The bundle's JSON is not what a patient bundle looks like.
    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// How many entries of each resource type the bundle holds.
    public static func counts(_ data: Data) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for resource in try resources(data) {
            guard let type = resource["resourceType"] as? String else { throw Malformed(description: "an entry has no resourceType") }
            counts[type, default: 0] += 1
        }
        return counts
    }

    /// The id of the bundle's Patient.
    public static func patientID(_ data: Data) throws -> String {
        guard let patient = try resources(data).first(where: { $0["resourceType"] as? String == "Patient" }),
            let id = patient["id"] as? String
        else { throw Malformed(description: "the bundle holds no Patient with an id") }
        return id
    }

    private static func resources(_ data: Data) throws -> [[String: Any]] {
        guard let bundle = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let entries = bundle["entry"] as? [[String: Any]]
        else { throw Malformed(description: "not a Bundle with entries") }
        return try entries.map {
            guard let resource = $0["resource"] as? [String: Any] else { throw Malformed(description: "an entry has no resource") }
            return resource
        }
    }
}
