import BedsideCore

/// Rewrites an import's references to `Type/id` and collects those the store must resolve.
///
/// `urn:uuid:` and other fullUrl references become the target's `Type/id`; contained references
/// (`#x`) and absolute URLs to other servers stay as written. A reference to nothing fails the import.
struct ReferenceRewriter {
    let targets: [String: String]
    let known: Set<String>
    /// The resource being rewritten, named in error messages.
    var source = ""
    private(set) var external: [ImportPlan.ExternalReference] = []
    private var seenExternal = Set<String>()

    init(targets: [String: String], known: Set<String>) {
        self.targets = targets
        self.known = known
    }

    mutating func rewrite(_ value: JSONValue) throws -> JSONValue {
        switch value {
        case .object(var members):
            for (key, member) in members {
                if key == "reference", let reference = member.stringValue {
                    members[key] = .string(try resolve(reference))
                } else if case .object = member {
                    members[key] = try rewrite(member)
                } else if case .array = member {
                    members[key] = try rewrite(member)
                }
            }
            return .object(members)
        case .array(let elements):
            return .array(try elements.map { try rewrite($0) })
        default:
            return value
        }
    }

    private mutating func resolve(_ reference: String) throws -> String {
        if reference.hasPrefix("#") { return reference }
        if let target = targets[reference] { return target }
        if reference.hasPrefix("urn:uuid:") || reference.hasPrefix("urn:oid:") {
            throw FHIRImportError(.notFound, "\(source) refers to \(reference), which is no entry of the bundle.")
        }
        if reference.hasPrefix("http://") || reference.hasPrefix("https://") { return reference }
        if reference.contains("?") {
            throw FHIRImportError(
                .notSupported,
                "\(source) uses the conditional reference \(reference), which the import does not resolve."
            )
        }
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || (parts.count == 4 && parts[2] == "_history"),
            let first = parts[0].first, first.isUppercase, FHIRIdentifier.isValid(String(parts[1]))
        else {
            throw FHIRImportError(.invalid, "\(source) has the malformed reference '\(reference)': expected Type/id.")
        }
        let key = "\(parts[0])/\(parts[1])"
        if !known.contains(key), seenExternal.insert(key).inserted {
            external.append(.init(type: String(parts[0]), id: String(parts[1]), reference: reference, from: source))
        }
        return reference
    }
}
