import Foundation

/// A model's request to run one tool, with its arguments exactly as the model wrote them.
///
/// The arguments stay a raw string because that is what goes back to the model in the
/// conversation: re-encoding them could reorder keys or change numbers the model will read
/// again. ``parsedArguments()`` turns them into a ``JSONValue`` for the tool.
public struct ToolCall: Sendable, Hashable {
    /// The provider's id for this call; the matching `tool` message carries it back.
    public var id: String
    /// The name of the tool, as listed in the request's tool definitions.
    public var name: String
    /// The arguments as a JSON text, exactly as the model produced it.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// The arguments as a JSON object. Empty arguments (which some models send for tools that
    /// take none) read as `{}`.
    ///
    /// - Throws: ``ArgumentsError`` when the text is not JSON or not a JSON object.
    public func parsedArguments() throws(ArgumentsError) -> JSONValue {
        if arguments.allSatisfy(\.isWhitespace) { return .object([:]) }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(arguments.utf8))
        } catch {
            throw ArgumentsError(message: "The arguments of tool call \(id) to \(name) are not valid JSON.")
        }
        guard case .object = value else {
            throw ArgumentsError(
                message: "The arguments of tool call \(id) to \(name) must be a JSON object, not \(value.typeName)."
            )
        }
        return value
    }

    /// Tool call arguments that cannot be handed to a tool: the message says what was wrong.
    public struct ArgumentsError: Error, Sendable, Hashable {
        public var message: String

        public init(message: String) {
            self.message = message
        }
    }
}
