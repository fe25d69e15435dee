/// What a session says in its refusals and in the errors and reasons of its turns' ends: the
/// texts people read, and the reasons clients match on, in one place.
enum SessionWords {
    /// The `reason` of a turn the store's failure ended.
    static let storeUnavailableReason = "store_unavailable"

    /// What the `error` before such a turn's end says.
    static let storeUnavailable =
        "The server could not store this turn's events, so it was stopped: everything up to here is kept. Send your message again in a moment."

    /// The refusal of a message while the store cannot write.
    static let messageNotStored =
        "The server cannot store messages right now, so this one was not sent: send it again in a moment."

    /// The refusal of a message while a turn is running or queued.
    static let busy = "A turn is already running in this session: wait for it to end, or send cancel."

    /// The refusal of a message during graceful shutdown: the client keeps it and sends it again
    /// once it has reconnected.
    static let shuttingDown =
        "The server is shutting down, so this message was not taken: send it again once you have reconnected."

    /// The refusal of a message over the turns per minute.
    static func tooManyTurns(limit: Int, seconds: Int64) -> String {
        "You have started \(limit) turns in the last minute: wait \(seconds) s."
    }

    /// The `error` of a turn whose runner threw something unexpected.
    static func crashed(turnID: String) -> String {
        "The turn failed unexpectedly; the server log has the details (turn \(turnID))."
    }

    /// The `error` of a turn a previous process left open.
    static let interrupted = "This turn was interrupted by a server restart and did not finish."
}
