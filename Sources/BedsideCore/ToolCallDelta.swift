/// A fragment of a tool call as a model streams it; fragments with the same `index` belong to
/// the same call.
///
/// Providers send a call's id and name in its first fragment and then its arguments a few
/// characters at a time; some repeat the id on every fragment and some never send one.
public struct ToolCallDelta: Sendable, Hashable {
    /// The call's position in the model's response, starting at 0.
    public var index: Int
    /// The call's id, when this fragment carries it.
    public var id: String?
    /// The tool's name, when this fragment carries it.
    public var name: String?
    /// The next piece of the arguments' JSON text; empty when this fragment carries none.
    public var argumentsFragment: String

    public init(index: Int, id: String? = nil, name: String? = nil, argumentsFragment: String = "") {
        self.index = index
        self.id = id
        self.name = name
        self.argumentsFragment = argumentsFragment
    }
}
