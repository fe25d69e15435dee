import Synchronization

/// Whether graceful shutdown has begun: set once by the hub, read by every session as it
/// decides a message, and by connections as they are accepted.
///
/// Its own atomic, not the hub's lock: sessions read it under their locks (lock order: hub →
/// session), and a session holds this rather than the hub.
final class ShutdownFlag: Sendable {
    private let value = Atomic(false)

    init() {}

    var isSet: Bool { value.load(ordering: .acquiring) }

    func set() { value.store(true, ordering: .releasing) }
}
