/// One page of search results.
public struct FHIRSearchResult: Sendable, Equatable {
    /// The matching resources on this page, as JSON text, in the requested order.
    public let resources: [String]
    /// How many resources match in all pages.
    public let total: Int
    /// The `_offset` of the next page, or nil on the last page.
    public let nextOffset: Int?

    public init(resources: [String], total: Int, nextOffset: Int?) {
        self.resources = resources
        self.total = total
        self.nextOffset = nextOffset
    }
}
