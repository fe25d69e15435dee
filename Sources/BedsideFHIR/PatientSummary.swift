/// What a clinician looks at first: active problems, current medications, allergies, latest results.
///
/// Built from the stored resources by ``FHIRStore/summary(patientID:)``; every entry keeps the
/// code it came from so a caller can search for more.
public struct PatientSummary: Sendable, Encodable, Equatable {
    /// A coded item of a list: a condition, a medication or an allergy.
    public struct Item: Sendable, Encodable, Equatable {
        public let id: String
        public let system: String?
        public let code: String?
        public let display: String
        /// When it started: onset, authoredOn or recordedDate as written in the resource.
        public let date: String?
        /// Allergy criticality, when recorded.
        public let criticality: String?
    }

    /// The latest value of one observation code.
    public struct Measurement: Sendable, Encodable, Equatable {
        public let code: String
        public let display: String
        public let value: Double?
        /// The value when it is not a quantity (a coded or text answer).
        public let text: String?
        public let unit: String?
        public let date: String?
        /// Parts of a panel, e.g. systolic and diastolic of a blood pressure.
        public let components: [Measurement]
    }

    public let patientID: String
    public let name: String
    public let gender: String?
    public let birthDate: String?
    public let deceased: String?
    public let activeConditions: [Item]
    public let activeMedications: [Item]
    public let allergies: [Item]
    public let latestVitals: [Measurement]
    public let latestLabs: [Measurement]
}
