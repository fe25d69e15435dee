/// A FHIR resource id as `GET /patient/{id}` and `GET /audit?patient=` take it.
enum PatientID {
    /// 1–64 characters of `[A-Za-z0-9.-]` (FHIR's `id`), not dots alone: `.` and `..` are
    /// path segments, never ids.
    static func isValid(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && !text.utf8.allSatisfy { $0 == 46 }
            && text.utf8.allSatisfy { byte in
                (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 45 || byte == 46
            }
    }
}
