import BedsideCore

/// Seeds a store with synthetic patients whose records read like a primary-care chart.
///
/// Deterministic: the same `seed` and count give byte-identical stores, because every choice comes
/// from a seeded SplitMix64 generator and every timestamp from a fixed reference date (``referenceDate``), never
/// from the clock. Each patient is a transaction Bundle that goes through the same planning as
/// ``FHIRStore/importPatient(_:maxBytes:)``; patients are written in batches of 50 per transaction.
///
/// ```swift
/// if try await store.isEmpty { try await SyntheticPopulation.seed(into: store, patients: 100) }
/// ```
public enum SyntheticPopulation {
    /// The day the synthetic histories end: the "today" of every synthetic chart.
    public static let referenceDate = "2025-06-30"
    /// The seed used when none is given.
    public static let defaultSeed: UInt64 = 0xBED5_1DE0

    static let batchSize = 50

    /// Adds `patients` synthetic patients to `store`.
    public static func seed(into store: FHIRStore, patients: Int, seed: UInt64 = defaultSeed) async throws {
        let asOf = FHIRDate.start(referenceDate)! + 17 * 3600
        // Each patient draws from its own generator, seeded from this one. Seeding patients with
        // `seed + n` instead would not do: SplitMix64 steps its state by a constant, so nearby
        // seeds give overlapping sequences, and patients would share ids.
        var seeds = SplitMix64(seed: seed)
        let patientSeeds = (0..<max(patients, 0)).map { _ in seeds.next() }
        for first in stride(from: 0, to: patientSeeds.count, by: batchSize) {
            let batch = Array(patientSeeds[first..<min(first + batchSize, patientSeeds.count)])
            try await store.write(lastUpdated: FHIRDate.iso(asOf)) {
                try batch.map { patientSeed in
                    var patient = SyntheticPatient(random: SplitMix64(seed: patientSeed), asOf: asOf)
                    var unnamed = 0  // every synthetic resource has an id; this only keeps the planner total
                    return try ImportPlan(patient.makeBundle()) {
                        unnamed += 1
                        return "synthetic-\(patientSeed)-\(unnamed)"
                    }
                }
            }
        }
    }
}
