public import BedsideCore

/// Where the FHIR tools read from: the embedded store, or a FHIR server over REST.
///
/// Only reads by id and searches with FHIR R4 search parameters, so that every backend answers
/// the tools the same way.
public protocol FHIRDataSource: Sendable {
    /// What the tools say they read from, e.g. `embedded store` or a server's base URL.
    var label: String { get }

    /// The resource `type`/`id`, or nil when there is none.
    func resource(type: String, id: String) async throws -> JSONValue?

    /// One page of a search: `parameters` as in a FHIR REST query (`_count`, `_sort` included).
    func page(type: String, parameters: [(name: String, value: String)]) async throws -> FHIRPage
}

/// One page of search results.
public struct FHIRPage: Sendable, Equatable {
    public var resources: [JSONValue]
    /// How many resources match in all, when the source says.
    public var total: Int?
    /// Whether more results follow this page.
    public var hasMore: Bool

    public init(resources: [JSONValue], total: Int?, hasMore: Bool) {
        self.resources = resources
        self.total = total
        self.hasMore = hasMore
    }
}

/// The embedded ``FHIRStore`` as a ``FHIRDataSource``.
public struct EmbeddedFHIRSource: FHIRDataSource {
    public let store: FHIRStore

    public init(store: FHIRStore) {
        self.store = store
    }

    public var label: String { "embedded store" }

    public func resource(type: String, id: String) async throws -> JSONValue? {
        try await store.read(type: type, id: id).map { try FHIRJSON.parse($0) }
    }

    public func page(type: String, parameters: [(name: String, value: String)]) async throws -> FHIRPage {
        let result = try await store.search(type: type, parameters: parameters)
        return FHIRPage(
            resources: try result.resources.map { try FHIRJSON.parse($0) },
            total: result.total,
            hasMore: result.nextOffset != nil
        )
    }
}
