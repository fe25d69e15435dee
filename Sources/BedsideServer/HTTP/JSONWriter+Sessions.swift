import BedsideAuth
import BedsideCore
import BedsideProtocol
import Foundation

extension JSONWriter {
    /// A conversation-list entry: `{"id","title","created","last_activity","turn_count","last_turn_status"}`.
    mutating func summary(_ summary: SessionSummary) {
        beginObject()
        member("id", summary.id.rawValue)
        member("title", summary.title)
        member("created", Timestamp(microseconds: summary.createdMicros).iso8601)
        member("last_activity", Timestamp(microseconds: summary.lastActivityMicros).iso8601)
        member("turn_count", Int64(summary.turnCount))
        member("last_turn_status", summary.lastTurnStatus)
        endObject()
    }

    /// Access-audit records as an array, oldest first. With `principals` (the patient audit),
    /// each record also names its session, its owner and who that is.
    mutating func auditRecords(_ records: [AccessRecord], principals: [String: PrincipalRecord]?) {
        beginArray()
        for record in records {
            beginObject()
            member("time", Timestamp(microseconds: record.timeMicros).iso8601)
            if let principals {
                let owner = record.sessionID.owner
                key("principal")
                if let known = principals[owner] {
                    beginObject()
                    member("key", known.key)
                    member("issuer", known.issuer)
                    member("subject", known.subject)
                    member("name", known.name)
                    endObject()
                } else if owner == SessionID.localOwner {
                    principal(.local, lastSeen: nil)
                } else {
                    beginObject()
                    member("key", owner)
                    endObject()
                }
                member("session_id", record.sessionID.rawValue)
                member("owner", owner)
            }
            member("turn_id", record.turnID)
            member("tool_call_id", record.toolCallID)
            member("tool", record.tool)
            key("patient_ids")
            beginArray()
            for id in record.patientIDs { string(id) }
            endArray()
            key("resources")
            beginArray()
            for reference in record.resources { string(reference) }
            endArray()
            endObject()
        }
        endArray()
    }

    /// `{"key","issuer","subject","name"[,"roles"][,"last_seen"]}`.
    mutating func principal(_ principal: Principal, lastSeen: Date?, roles: Bool = false) {
        beginObject()
        member("key", principal.key)
        member("issuer", principal.issuer)
        member("subject", principal.subject)
        member("name", principal.name)
        if roles {
            key("roles")
            beginArray()
            for role in principal.roles.sorted() { string(role.rawValue) }
            endArray()
        }
        if let lastSeen { member("last_seen", Timestamp(date: lastSeen).iso8601) }
        endObject()
    }
}

extension Timestamp {
    /// The same instant, to the microsecond.
    init(date: Date) {
        self.init(microseconds: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }
}
