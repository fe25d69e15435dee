import BedsideCore

/// Runs `racers` as child tasks and returns the value of the first to finish. The others are
/// then cancelled and awaited: when this returns, every racer has ended.
///
/// - Parameter stopLosers: called with the winning value after the losers are cancelled and
///   before they are awaited, for a loser that cancellation alone does not end (an MCP request
///   waits for its answer whatever happens to the task that awaits it): it ends them by other
///   means, such as cancelling the request or disconnecting.
func race<T: Sendable>(
    _ racers: [@Sendable () async -> T],
    stopLosers: @Sendable (T) async -> Void = { _ in }
) async -> T {
    precondition(!racers.isEmpty, "a race needs a racer")
    return await withTaskGroup(of: T.self) { group in
        for racer in racers { group.addTask(operation: racer) }
        guard let first = await group.next() else { preconditionFailure("a race needs a racer") }
        group.cancelAll()
        await stopLosers(first)
        // The group waits for every racer before it returns.
        return first
    }
}

/// How one racer of ``withTimeout(_:what:lifetime:clock:abandon:work:)`` ended.
private enum TimedFinish<T: Sendable>: Sendable {
    case done(Result<T, any Error>)
    case timedOut
    case ended(String)
    case cancelled
}

/// Runs `work`, failing with a ``TransportError`` when it takes longer than `limit` on `clock`,
/// or when `lifetime` ends first (with its reason), and with `CancellationError` when the task
/// is cancelled first.
///
/// The work is cancelled and awaited in every case. What it waits for may not answer
/// cancellation (an MCP request awaits its response), so when it loses, `abandon` is called to
/// end it: it must make the work return, say by disconnecting the client it waits on.
func withTimeout<T: Sendable>(
    _ limit: Duration,
    what: String,
    lifetime: TransportLifetime? = nil,
    clock: ElapsedClock,
    abandon: @escaping @Sendable () async -> Void,
    work: @escaping @Sendable () async throws -> T
) async throws -> T {
    var racers: [@Sendable () async -> TimedFinish<T>] = [
        {
            do {
                return .done(.success(try await work()))
            } catch {
                return .done(.failure(error))
            }
        },
        {
            do {
                try await clock.sleep(for: limit)
                return .timedOut
            } catch {
                return .cancelled
            }
        },
    ]
    if let lifetime {
        racers.append {
            let reason = await lifetime.ended()
            return Task.isCancelled ? .cancelled : .ended(reason)
        }
    }
    let finish = await race(racers) { finish in
        if case .done = finish { return }
        await abandon()
    }
    switch finish {
    case .done(let result): return try result.get()
    case .timedOut: throw TransportError(description: "\(what) took longer than \(limit.seconds) s")
    case .ended(let reason): throw TransportError(description: "\(what) failed: \(reason)")
    case .cancelled: throw CancellationError()
    }
}
