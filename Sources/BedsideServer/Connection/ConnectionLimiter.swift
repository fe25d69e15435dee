import BedsideCore
import Synchronization

/// Counts the open WebSocket connections in the whole server, per client address and per
/// session, and admits a new one only while all three are under their limits (0: unlimited).
///
/// A connection takes its slots when admitted and gives them back when it ends
/// (``release(_:)``). What it deliberately does not do: queue, or close existing connections
/// to make room.
final class ConnectionLimiter: Sendable {
    /// The slots one admitted connection holds.
    struct Ticket: Sendable {
        fileprivate let address: String
        fileprivate let session: SessionID
    }

    /// Why a connection is not admitted: the limit it met and a sentence naming its flag.
    struct Refusal: Error, Sendable {
        var limit: LimitName
        var message: String
    }

    private struct Counts {
        var total = 0
        var byAddress: [String: Int] = [:]
        var bySession: [SessionID: Int] = [:]
    }

    private let limits: ServerLimits
    private let counts = Mutex(Counts())

    init(limits: ServerLimits) {
        self.limits = limits
    }

    /// Takes a slot for a connection from `address` to `session`, or says which limit refuses it.
    func admit(address: String, session: SessionID) -> Result<Ticket, Refusal> {
        counts.withLock { counts in
            if let refusal = refusal(counts, address: address, session: session) { return .failure(refusal) }
            counts.total += 1
            counts.byAddress[address, default: 0] += 1
            counts.bySession[session, default: 0] += 1
            return .success(Ticket(address: address, session: session))
        }
    }

    /// What a new connection from `address` to `session` would meet now, without taking a slot.
    func wouldRefuse(address: String, session: SessionID) -> Refusal? {
        counts.withLock { refusal($0, address: address, session: session) }
    }

    /// Gives back the slots of an ended connection.
    func release(_ ticket: Ticket) {
        counts.withLock { counts in
            counts.total -= 1
            Self.decrement(&counts.byAddress, ticket.address)
            Self.decrement(&counts.bySession, ticket.session)
        }
    }

    /// Open connections: in all, from `address`, to `session`.
    func open(address: String, session: SessionID) -> (total: Int, address: Int, session: Int) {
        counts.withLock { ($0.total, $0.byAddress[address] ?? 0, $0.bySession[session] ?? 0) }
    }

    private func refusal(_ counts: Counts, address: String, session: SessionID) -> Refusal? {
        if limits.maxConnections > 0, counts.total >= limits.maxConnections {
            return Refusal(
                limit: .connections,
                message: "The server has its most connections open (\(limits.maxConnections), --max-connections): try again later."
            )
        }
        if limits.maxConnectionsPerAddress > 0, counts.byAddress[address, default: 0] >= limits.maxConnectionsPerAddress {
            return Refusal(
                limit: .connectionsPerAddress,
                message:
                    "Too many connections from this address: at most \(limits.maxConnectionsPerAddress) (--max-connections-per-address)."
            )
        }
        if limits.maxConnectionsPerSession > 0, counts.bySession[session, default: 0] >= limits.maxConnectionsPerSession {
            return Refusal(
                limit: .connectionsPerSession,
                message:
                    "Too many connections to this session: at most \(limits.maxConnectionsPerSession) (--max-connections-per-session); close a tab."
            )
        }
        return nil
    }

    private static func decrement<Key: Hashable>(_ counts: inout [Key: Int], _ key: Key) {
        guard let count = counts[key] else { return }
        counts[key] = count > 1 ? count - 1 : nil
    }
}
