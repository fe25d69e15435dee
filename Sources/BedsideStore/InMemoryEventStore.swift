public import BedsideCore
import Foundation
import Synchronization

/// An ``EventStore`` in memory: the twin of ``SQLiteEventStore`` for tests, with the same
/// behaviour (the shared store test suite runs against both).
public final class InMemoryEventStore: EventStore, AccessAudit, SessionDirectory {
    private struct State {
        var events: [SessionID: [StoredEvent]] = [:]
        var openTurns: Set<UnfinishedTurn> = []
        var audit: [SessionID: [AccessRecord]] = [:]
        var auditOrder: [AccessRecord] = []
        var summaries: [SessionID: SessionSummary] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func append(_ events: [StoredEvent]) async throws {
        try state.withLock { state in
            // Validate first so that a bad batch changes nothing, as a rolled-back transaction would.
            var next: [SessionID: Int64] = [:]
            for event in events {
                let last = next[event.sessionID] ?? state.events[event.sessionID]?.last?.seq ?? 0
                guard event.seq > last else {
                    throw StoreError(message: "Duplicate or out-of-order seq \(event.seq) in session \(event.sessionID)")
                }
                next[event.sessionID] = event.seq
            }
            let now = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
            for event in events {
                state.events[event.sessionID, default: []].append(event)
                if event.changesSessionSummary {
                    var summary =
                        state.summaries[event.sessionID]
                        ?? SessionSummary(
                            id: event.sessionID,
                            title: nil,
                            createdMicros: now,
                            lastActivityMicros: now,
                            turnCount: 0,
                            lastTurnStatus: nil
                        )
                    summary.lastActivityMicros = now
                    if summary.title == nil, let content = event.userContent {
                        summary.title = SessionSummary.title(fromMessage: content)
                    }
                    if let status = event.turnStatus {
                        if status == "started" { summary.turnCount += 1 }
                        summary.lastTurnStatus = status
                    }
                    state.summaries[event.sessionID] = summary
                }
                if let status = event.turnStatus, let turnID = event.turnID {
                    let turn = UnfinishedTurn(sessionID: event.sessionID, turnID: turnID)
                    if status == "started" {
                        state.openTurns.insert(turn)
                    } else {
                        state.openTurns.remove(turn)
                    }
                }
            }
        }
    }

    public func events(in session: SessionID, after: Int64, through: Int64?, limit: Int?) async throws -> [StoredEvent] {
        state.withLock { state in
            guard let events = state.events[session] else { return [] }
            // Events are kept in seq order: binary-search the first one after `after`.
            var low = 0
            var high = events.count
            while low < high {
                let mid = (low + high) / 2
                if events[mid].seq <= after { low = mid + 1 } else { high = mid }
            }
            var result: [StoredEvent] = []
            for event in events[low...] {
                if let through, event.seq > through { break }
                if let limit, result.count >= limit { break }
                result.append(event)
            }
            return result
        }
    }

    public func userEvent(in session: SessionID, clientMessageID: String) async throws -> StoredEvent? {
        state.withLock { state in
            state.events[session]?.first { $0.clientMessageID == clientMessageID }
        }
    }

    public func snapshot(of session: SessionID) async throws -> SessionSnapshot {
        state.withLock { state in
            let events = state.events[session] ?? []
            return SessionSnapshot(
                latestSeq: events.last?.seq ?? 0,
                clientMessageIDs: Set(events.compactMap(\.clientMessageID))
            )
        }
    }

    public func unfinishedTurns() async throws -> [UnfinishedTurn] {
        state.withLock { state in
            state.openTurns.sorted { ($0.sessionID.rawValue, $0.turnID) < ($1.sessionID.rawValue, $1.turnID) }
        }
    }

    public func ping() async throws {}

    public func record(_ record: AccessRecord) async throws {
        state.withLock {
            $0.audit[record.sessionID, default: []].append(record)
            $0.auditOrder.append(record)
        }
    }

    public func records(patient patientID: String) async throws -> [AccessRecord] {
        state.withLock { $0.auditOrder.filter { $0.patientIDs.contains(patientID) } }
    }

    public func sessions(owner: String, after cursor: SessionCursor?, limit: Int) async throws -> [SessionSummary] {
        state.withLock { state in
            let sorted = state.summaries.values.filter { $0.id.owner == owner }.sorted {
                ($0.lastActivityMicros, $0.id.rawValue) > ($1.lastActivityMicros, $1.id.rawValue)
            }
            let page = sorted.drop { summary in
                guard let cursor else { return false }
                return (summary.lastActivityMicros, summary.id.rawValue) >= (cursor.lastActivityMicros, cursor.rawID)
            }
            return Array(page.prefix(limit))
        }
    }

    public func summary(of session: SessionID) async throws -> SessionSummary? {
        state.withLock { $0.summaries[session] }
    }

    public func rename(_ session: SessionID, title: String) async throws -> SessionSummary? {
        state.withLock { state in
            guard state.summaries[session] != nil else { return nil }
            state.summaries[session]?.title = title
            return state.summaries[session]
        }
    }

    public func delete(_ session: SessionID) async throws -> Bool {
        state.withLock { state in
            let existed = state.summaries.removeValue(forKey: session) != nil
            state.events[session] = nil
            state.openTurns = state.openTurns.filter { $0.sessionID != session }
            return existed
        }
    }

    public func records(in session: SessionID) async throws -> [AccessRecord] {
        state.withLock { $0.audit[session] ?? [] }
    }
}
