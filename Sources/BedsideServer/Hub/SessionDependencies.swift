import BedsideCore
import Foundation
import Logging

/// What a ``Session`` is given by its hub: the parts it uses, never the hub itself.
///
/// A session holds no reference back to the hub. The one thing it tells the hub, that it has
/// become idle, goes through ``becameIdle``, which holds the hub weakly; so a hub and its
/// sessions never keep each other alive.
struct SessionDependencies: Sendable {
    /// The event store: read for history, duplicates and replay pages.
    var store: any EventStore
    /// Runs a turn.
    var runner: any TurnRunner
    /// Queues an event for the store, in seq order; false once the writer has finished.
    var enqueue: @Sendable (PendingEvent) -> Bool
    var metrics: BedsideMetrics
    /// The turns per minute and the concurrent-turn slots, shared by every session.
    var limiter: TurnLimiter
    /// The per-user channel of `GET /sessions/updates`.
    var userChannel: UserChannel
    var logger: Logger
    /// Whether graceful shutdown has begun.
    var shutdown: ShutdownFlag
    /// False while some session's events cannot be written.
    var storeIsWritable: @Sendable () -> Bool
    /// Tells the hub the session may be forgotten (it checks again under its lock).
    var becameIdle: @Sendable (Session) -> Void
    /// What turns are timed on, and what merged deltas wait on.
    var clock: ElapsedClock
    /// The window within which streaming deltas are merged (`--coalesce-deltas-ms`); zero is off.
    var coalesceDeltas: Duration = .zero
    /// The id of a new turn.
    var newTurnID: @Sendable () -> String = { UUID().uuidString.lowercased() }
}
