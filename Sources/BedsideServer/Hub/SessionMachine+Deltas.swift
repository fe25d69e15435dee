import BedsideCore
import BedsideProtocol

/// Emission, and merging streaming deltas that come faster than the coalescing window.
///
/// With a window (`--coalesce-deltas-ms`), a streaming `assistant` delta that arrives within the
/// window of the delta before it is held instead of sent: the deltas after it of the same reply
/// are appended to it, and it is given its seq and sent as one delta when the window has passed
/// since it was held, or before any other event of the session (so the order and the text stay
/// the same). The first delta after a pause goes out at once. Without a window every delta is
/// sent as it comes.
extension SessionMachine {
    /// Deltas of one reply being merged.
    struct HeldDelta {
        /// The first delta's ids and time; its text is ``text``.
        var first: Emission
        var messageID: String
        var text: String
        var generation: UInt64

        /// Whether `emission`, a delta of `messageID`, continues this reply.
        func continues(_ emission: Emission, messageID: String) -> Bool {
            messageID == self.messageID && emission.turnID == first.turnID && emission.traceID == first.traceID
                && emission.spanID == first.spanID && emission.timestamp == nil
        }
    }

    /// What emitting one event produced, in order: a held delta sent first, the event itself
    /// (nil when it was held), and a flush to schedule. No array: every event goes through here.
    struct Emitted {
        var flushed: StoredEvent?
        var event: StoredEvent?
        /// The seq the event has, or, held, will have when it is sent (nothing else can take a
        /// seq before it: every other event sends it first).
        var seq: Int64
        /// When a delta was first held: feed ``Input/flushDeltas(generation:)`` after `after`.
        var flush: (after: Duration, generation: UInt64)?

        /// The same as actions.
        var actions: [Action] {
            var actions: [Action] = []
            if let flushed { actions.append(.persist(flushed)) }
            if let event { actions.append(.persist(event)) }
            if let flush { actions.append(.scheduleDeltaFlush(after: flush.after, generation: flush.generation)) }
            return actions
        }
    }

    /// Gives `emission` the next seq, or holds it to merge with the deltas after it. The same as
    /// ``handle(_:at:)`` with ``Input/emit(_:)``, without the array.
    mutating func emit(_ emission: Emission, at time: Time) -> Emitted {
        guard coalesceDeltas > .zero, case .assistant(let delta) = emission.payload, delta.streaming else {
            let flushed = flushHeldDelta(at: time.timestamp)
            let event = assign(emission, at: time.timestamp)
            return Emitted(flushed: flushed, event: event, seq: event.seq)
        }
        let soon = lastDeltaAt.map { time.elapsed - $0 < coalesceDeltas } ?? false
        lastDeltaAt = time.elapsed
        if let held = heldDelta, held.continues(emission, messageID: delta.messageID) {
            heldDelta?.text += delta.content
            return Emitted(seq: lastSeq + 1)
        }
        let flushed = flushHeldDelta(at: time.timestamp)
        guard soon, flushed == nil, emission.timestamp == nil else {
            let event = assign(emission, at: time.timestamp)
            return Emitted(flushed: flushed, event: event, seq: event.seq)
        }
        heldGeneration += 1
        heldDelta = HeldDelta(first: emission, messageID: delta.messageID, text: delta.content, generation: heldGeneration)
        return Emitted(seq: lastSeq + 1, flush: (coalesceDeltas, heldGeneration))
    }

    /// Sends the held deltas as one, if any: their text, the first's ids, stamped `now`.
    mutating func flushHeldDelta(at now: Timestamp) -> StoredEvent? {
        guard let held = heldDelta else { return nil }
        heldDelta = nil
        var merged = held.first
        merged.payload = .assistant(AssistantEvent(content: held.text, streaming: true, messageID: held.messageID))
        return assign(merged, at: now)
    }
}
