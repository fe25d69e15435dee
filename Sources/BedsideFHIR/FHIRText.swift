import Foundation

/// The form string search compares: FHIR asks for case- and accent-insensitive matching.
enum FHIRText {
    static func normalize(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.lowercased() }
        return text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
    }
}
