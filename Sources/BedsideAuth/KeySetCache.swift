import Foundation

/// An issuer's JWKS as last fetched, with the refetch rules of ``TokenVerifier``: the set is
/// fetched when first needed and again once ``TokenVerifierConfiguration/keySetLifetime`` has
/// passed; a token with an unknown `kid` may fetch it again, at most once per refetch interval.
/// Concurrent callers share one fetch in flight.
actor KeySetCache {
    private let load: @Sendable () async throws -> [PublishedKey]
    private let clock: AuthClock
    private let refetchInterval: TimeInterval
    private let lifetime: TimeInterval
    private var keys: [PublishedKey]?
    private var nextRefresh = Date.distantPast
    private var lastRefetch: Date?
    private var inFlight: Task<[PublishedKey], any Error>?

    init(
        clock: @escaping AuthClock,
        refetchInterval: TimeInterval,
        lifetime: TimeInterval,
        load: @escaping @Sendable () async throws -> [PublishedKey]
    ) {
        self.clock = clock
        self.refetchInterval = refetchInterval
        self.lifetime = lifetime
        self.load = load
    }

    /// The keys, fetched when there are none yet or they are due for a refresh. A refresh that
    /// fails keeps the keys it had and is tried again after the refetch interval.
    func current() async throws -> [PublishedKey] {
        if let keys, clock() < nextRefresh { return keys }
        do {
            return try await fetch()
        } catch {
            guard let keys else { throw error }
            nextRefresh = clock().addingTimeInterval(refetchInterval)
            return keys
        }
    }

    /// The keys after fetching them again for a `kid` they lack, unless a refetch already
    /// happened within the refetch interval: then the keys in hand, which another caller's
    /// refetch may have renewed since this caller last looked.
    func refetched() async throws -> [PublishedKey] {
        if let inFlight { return try await inFlight.value }
        let now = clock()
        if let lastRefetch, now.timeIntervalSince(lastRefetch) < refetchInterval { return keys ?? [] }
        lastRefetch = now
        return try await fetch()
    }

    private func fetch() async throws -> [PublishedKey] {
        if let inFlight { return try await inFlight.value }
        let task = Task { try await load() }
        inFlight = task
        defer { inFlight = nil }
        let fetched = try await task.value
        keys = fetched
        nextRefresh = clock().addingTimeInterval(lifetime)
        return fetched
    }
}
