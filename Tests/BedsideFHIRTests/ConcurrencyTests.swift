import BedsideCore
import BedsideFHIR
import Foundation
import Testing

extension FHIRTests {
    @Suite struct ConcurrencyTests {
        /// Readers run beside an import (WAL): each sees the patient either not at all or complete.
        @Test func searchesRunWhileAnImportWrites() async throws {
            let temporary = try TemporaryStore()
            let store = temporary.store
            let data = try Fixture.data("patient-lean-davis")
            let patientID = try Fixture.patientID(data)
            let totals = try await withThrowingTaskGroup(of: [Int].self) { group in
                group.addTask {
                    try await store.importPatient(data)
                    return []
                }
                for _ in 0..<4 {
                    group.addTask {
                        var seen: [Int] = []
                        for _ in 0..<20 {
                            seen.append(
                                try await store.search(type: "Observation", parameters: [("patient", patientID), ("_count", "0")]).total
                            )
                            await Task.yield()
                        }
                        return seen
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(totals.count == 80)
            #expect(totals.allSatisfy { $0 == 0 || $0 == 298 })
            #expect(try await store.search(type: "Observation", parameters: [("patient", patientID)]).total == 298)
        }

        @Test func anInMemoryStoreWorksLikeAFileStore() async throws {
            let store = try FHIRStore.inMemory()
            #expect(try await store.isEmpty)
            let result = try await store.importPatient(try Fixture.data("patient-cris-rath"))
            #expect(result.counts["Immunization"] == 19)
            #expect(try await store.search(type: "Condition", parameters: [("patient", result.patientID)]).total == 4)
            #expect(try await store.everything(patientID: result.patientID).count == 84 - 2 - 2)
        }
    }
}
