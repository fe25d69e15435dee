/// A model request that failed, with what a person can do about it.
///
/// ``Code/unavailable`` means the model could not be reached or refused to serve the request
/// at all (wrong key, unknown deployment, network down); ``Code/error`` means it was reached
/// but the request failed. The message names the cause and the fix without secrets, e.g.
/// "401 from the model endpoint: check OPENAI_API_KEY".
public struct ModelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public var code: Code
    /// The HTTP status the endpoint answered with, when it answered.
    public var httpStatus: Int?
    /// What went wrong and what to do about it, for the person running Bedside.
    public var message: String

    public init(code: Code, httpStatus: Int? = nil, message: String) {
        self.code = code
        self.httpStatus = httpStatus
        self.message = message
    }

    public var description: String {
        if let httpStatus { return "\(code) (HTTP \(httpStatus)): \(message)" }
        return "\(code): \(message)"
    }

    /// The kind of a ``ModelError``.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String {
            case unavailable
            case error
        }

        private let base: Base

        /// The model could not be reached or will not serve requests as configured.
        public static let unavailable = Code(base: .unavailable)
        /// The model was reached but the request failed.
        public static let error = Code(base: .error)

        public var description: String { base.rawValue }
    }
}
