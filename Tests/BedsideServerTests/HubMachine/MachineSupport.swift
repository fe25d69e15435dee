import BedsideCore
import BedsideProtocol
import Foundation

@testable import BedsideServer

/// A connection as the machine sees it: an identity, nothing more.
final class Watcher: Equatable, Sendable {
    let name: String
    init(_ name: String) { self.name = name }
    static func == (lhs: Watcher, rhs: Watcher) -> Bool { lhs === rhs }
}

typealias Machine = SessionMachine<Watcher>

let machineSession = SessionID("machine-test-session")!

/// A fresh machine of `machineSession`, as a session with `latestSeq` stored events loads.
func makeSessionMachine(latestSeq: Int64 = 0, clientMessageIDs: Set<String> = [], maxTurnsPerMinute: Int = 30) -> Machine {
    Machine(
        id: machineSession,
        snapshot: SessionSnapshot(latestSeq: latestSeq, clientMessageIDs: clientMessageIDs),
        maxTurnsPerMinute: maxTurnsPerMinute
    )
}

/// The machine's time `milliseconds` after the origin; events made then carry the same instant.
func at(_ milliseconds: Int64) -> Machine.Time {
    Machine.Time(elapsed: .milliseconds(milliseconds), timestamp: Timestamp(microseconds: 1_790_000_000_000_000 + milliseconds * 1000))
}

/// A ticket of a real slot queue (tickets cannot be made any other way).
func queuedTicket() -> TurnSlots.Ticket {
    let slots = TurnSlots(capacity: 1)
    _ = slots.admit()
    guard case .queued(let ticket, _) = slots.admit() else { fatalError("a full slot queue queues") }
    return ticket
}

extension Machine.Message {
    /// A message of `rateKey` "alice" with turn id `turnID`, in a server that accepts it.
    static func message(_ content: String = "What changed?", id: String? = nil, turnID: String = "turn-1") -> Self {
        Self(content: content, clientMessageID: id, rateKey: "alice", turnID: turnID)
    }
}

extension Machine {

    /// Feeds a message and the limits' answers (admitted, `slot`); returns every action.
    mutating func accept(_ message: Message = .message(), slot: TurnSlots.Admission = .granted, at time: Time = at(0)) -> [Action] {
        handle(.message(message), at: time) + handle(.turnRate(.admitted), at: time) + handle(.turnSlot(slot), at: time)
    }
}

extension Array where Element == Machine.Action {
    /// The events the actions queue for the store, in order.
    var persisted: [StoredEvent] {
        compactMap { if case .persist(let event) = $0 { event } else { nil } }
    }

    /// The actions other than `persist`.
    var others: [Machine.Action] {
        filter { if case .persist = $0 { false } else { true } }
    }
}

extension StoredEvent {
    /// The event's JSON, decoded.
    var value: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))) ?? .null }
}
