import BedsideCore
import BedsideFHIR
import Foundation
import Testing

extension FHIRTests {
    /// The five Synthea bundles import in any order, and the Organizations and Practitioners
    /// they share keep the content of whichever import brought them first.
    @Suite struct SyntheaOrderTests {
        /// Forward, reverse, and each bundle first: the first and last come first in those two,
        /// each of the three others in an order of its own (the other four following in forward order).
        static let orders: [[String]] =
            [Fixture.synthea, Fixture.synthea.reversed()]
            + Fixture.synthea.indices.dropFirst().dropLast().map { first in
                [Fixture.synthea[first]] + Fixture.synthea.enumerated().filter { $0.offset != first }.map(\.element)
            }

        static let sharedTypes: Set<String> = ["Organization", "Practitioner"]

        /// A bundle whose shared resources say which bundle they came from, in `meta.source`.
        struct Tagged {
            let name: String
            let data: Data
            let patientID: String
            let counts: [String: Int]
            let shared: Set<String>

            init(_ name: String) throws {
                let original = try Fixture.data(name)
                var bundle = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
                let entries = try #require(bundle["entry"] as? [[String: Any]])
                var shared = Set<String>()
                bundle["entry"] = entries.map { entry -> [String: Any] in
                    guard var resource = entry["resource"] as? [String: Any], let type = resource["resourceType"] as? String,
                        SyntheaOrderTests.sharedTypes.contains(type), let id = resource["id"] as? String
                    else { return entry }
                    shared.insert("\(type)/\(id)")
                    resource["meta"] = ["source": "urn:bedside-test:\(name)"]
                    var tagged = entry
                    tagged["resource"] = resource
                    return tagged
                }
                self.name = name
                data = try JSONSerialization.data(withJSONObject: bundle)
                patientID = try Fixture.patientID(original)
                counts = try Fixture.expectedCounts(original)
                self.shared = shared
            }
        }

        static let bundles: [String: Tagged] = {
            var bundles: [String: Tagged] = [:]
            for name in Fixture.synthea { bundles[name] = try? Tagged(name) }
            return bundles
        }()

        @Test(arguments: orders)
        func theFiveBundlesImportInAnyOrder(_ order: [String]) async throws {
            let store = try FHIRStore.inMemory()
            var firstSource: [String: String] = [:]  // shared Type/id -> the bundle that brought it first
            for name in order {
                let bundle = try #require(Self.bundles[name])
                let result = try await store.importPatient(bundle.data)
                #expect(result.patientID == bundle.patientID)
                #expect(result.counts == bundle.counts)
                for key in bundle.shared where firstSource[key] == nil { firstSource[key] = name }
            }
            #expect(try await store.patientCount() == 5)
            var unique = 0
            for name in order {
                let bundle = try #require(Self.bundles[name])
                var own = bundle.counts
                for type in Self.sharedTypes { own[type] = nil }
                #expect(try await store.counts(patientID: bundle.patientID) == own, "\(name)")
                unique += own.values.reduce(0, +)
            }
            unique += firstSource.count
            #expect(try await store.statistics().resources == unique)
            #expect(firstSource.count < Self.bundles.values.map(\.shared.count).reduce(0, +), "the fixtures share some resources")
            for (key, name) in firstSource {
                let parts = key.split(separator: "/")
                let stored = try json(try #require(try await store.read(type: String(parts[0]), id: String(parts[1]))))
                #expect(stored["meta"]?["source"]?.stringValue == "urn:bedside-test:\(name)", "\(key)")
                #expect(stored["name"] != nil, "\(key) keeps its content")
            }
        }
    }
}
