/// A failure of the FHIR store: a search it cannot answer, a missing patient, or a database fault.
///
/// The message says what to change; ``code`` lets a caller map the failure to an HTTP status or
/// a FHIR `OperationOutcome` issue without parsing text.
public struct FHIRStoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String { case unknownParameter, invalidValue, notFound, database }
        private let kind: Kind

        /// A search parameter the store does not support for the type (or does not know at all).
        public static let unknownParameter = Code(kind: .unknownParameter)
        /// A parameter value or resource type that cannot be parsed.
        public static let invalidValue = Code(kind: .invalidValue)
        /// The resource the request is about is not in the store.
        public static let notFound = Code(kind: .notFound)
        /// SQLite failed; ``FHIRStoreError/underlying`` holds its error.
        public static let database = Code(kind: .database)

        public var description: String { kind.rawValue }
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error & Sendable)?

    init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(code): \(message)" }
}
