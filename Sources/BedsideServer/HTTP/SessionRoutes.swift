import BedsideAuth
import BedsideCore
import BedsideProtocol
import Foundation
import Hummingbird

/// The conversation routes: the caller's list, rename, delete, history, audit and export, the
/// per-user update stream, and the auditor's and admin's routes that name the owner.
struct SessionRoutes: Sendable {
    let hub: SessionHub
    let directory: (any SessionDirectory)?
    let audit: (any AccessAudit)?
    let access: SessionAccess
    let watch: CredentialWatch?
    let origins: OriginPolicy

    var authentication: Authentication { access.authentication }

    func add(to router: Router<BasicRequestContext>) {
        router.get("/sessions") { request, _ in
            let caller = try await authentication.requireCaller(request)
            return try await list(owner: caller.principal.key, request)
        }
        router.get("/sessions/updates") { request, _ in
            let caller = try await authentication.requireCaller(request)
            return updates(caller)
        }
        router.patch("/sessions/:id") { request, context in
            try origins.check(request, to: "rename a session")
            let (_, session) = try await access.own(request, context)
            return try await rename(session, request)
        }
        router.delete("/sessions/:id") { request, context in
            try origins.check(request, to: "delete a session")
            let (_, session) = try await access.own(request, context)
            guard try await hub.delete(session, directory: try conversations()) else {
                throw Self.noSuchSession
            }
            return Response(status: .noContent)
        }
        router.get("/sessions/:id/events") { request, context in
            let (_, session) = try await access.own(request, context)
            return try await events(session, request)
        }
        router.get("/sessions/:id/audit") { request, context in
            let (_, session) = try await access.own(request, context)
            return try await auditAnswer(session)
        }
        router.get("/sessions/:id/export") { request, context in
            let (_, session) = try await access.own(request, context)
            return try await export(session, request)
        }

        router.get("/principals") { request, _ in
            _ = try await authentication.require(request, anyOf: [.auditor, .admin])
            return try principals()
        }
        router.get("/principals/:principal/sessions") { request, context in
            _ = try await authentication.require(request, anyOf: [.auditor, .admin])
            return try await list(owner: try SessionAccess.owner(context), request)
        }
        router.get("/principals/:principal/sessions/:id/events") { request, context in
            let (_, session) = try await access.named(request, context)
            return try await events(session, request)
        }
        router.get("/principals/:principal/sessions/:id/audit") { request, context in
            let (_, session) = try await access.named(request, context)
            return try await auditAnswer(session)
        }
        router.get("/principals/:principal/sessions/:id/export") { request, context in
            let (_, session) = try await access.named(request, context)
            return try await export(session, request)
        }
        router.get("/audit") { request, _ in
            _ = try await authentication.require(request, anyOf: [.auditor, .admin])
            return try await patientAudit(request)
        }
    }

    static let noSuchSession = APIError(.notFound, .notFound, "There is no such session.")

    private func conversations() throws(APIError) -> any SessionDirectory {
        guard let directory else {
            throw APIError(.notImplemented, .internal, "This server's store keeps no conversation list.")
        }
        return directory
    }

    // MARK: The list

    private func list(owner: String, _ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try QueryInteger.read(query["limit"], name: "limit", default: 50, range: 1...200)
        var cursor: SessionCursor?
        if let raw = query["before"] {
            guard let parsed = SessionCursor(text: raw) else {
                throw APIError(.badRequest, .invalidMessage, "before must be the next value of an earlier page.")
            }
            cursor = parsed
        }
        let page = try await conversations().sessions(owner: owner, after: cursor, limit: Int(limit) + 1)
        var json = JSONWriter()
        json.beginObject()
        json.key("sessions")
        json.beginArray()
        for summary in page.prefix(Int(limit)) { json.summary(summary) }
        json.endArray()
        let last = page.count > Int(limit) ? page[Int(limit) - 1] : nil
        json.member(
            "next",
            last.map { SessionCursor(lastActivityMicros: $0.lastActivityMicros, rawID: $0.id.rawValue).text }
        )
        json.endObject()
        return Response.json(json.text)
    }

    private func rename(_ session: SessionID, _ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 16 << 10)
        guard let object = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)).objectValue,
            let raw = object["title"]?.stringValue
        else {
            throw APIError(.badRequest, .invalidMessage, #"The body must be {"title": "…"}."#)
        }
        let title = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(title.count) else {
            throw APIError(.badRequest, .invalidMessage, "A title has 1 to 200 characters.")
        }
        guard let summary = try await conversations().rename(session, title: title) else {
            throw Self.noSuchSession
        }
        hub.userChannel.publish(.changed(session))
        var json = JSONWriter()
        json.summary(summary)
        return Response.json(json.text)
    }

    // MARK: History, audit, export

    private func events(_ session: SessionID, _ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let after = try QueryInteger.read(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let limit = try QueryInteger.read(query["limit"], name: "limit", default: 1000, range: 1...10_000)
        let events = try await hub.store.events(in: session, after: after, through: nil, limit: Int(limit) + 1)
        let page = events.prefix(Int(limit))
        var json = JSONWriter(capacity: page.reduce(64) { $0 + $1.json.utf8.count + 1 })
        json.beginObject()
        json.member("session_id", session.rawValue)
        json.key("events")
        json.beginArray()
        for event in page { json.raw(event.json) }
        json.endArray()
        json.member("has_more", events.count > page.count)
        json.endObject()
        return Response.json(json.text)
    }

    private func auditAnswer(_ session: SessionID) async throws -> Response {
        let records = try await audit?.records(in: session) ?? []
        var json = JSONWriter()
        json.beginObject()
        json.member("session_id", session.rawValue)
        json.key("records")
        json.auditRecords(records, principals: nil)
        json.endObject()
        return Response.json(json.text)
    }

    private func export(_ session: SessionID, _ request: Request) async throws -> Response {
        let format = request.uri.queryParameters["format"].map(String.init) ?? "json"
        guard format == "json" || format == "markdown" else {
            throw APIError(.badRequest, .invalidMessage, "format must be json or markdown.")
        }
        guard let summary = try await conversations().summary(of: session) else {
            throw Self.noSuchSession
        }
        let events = try await hub.store.events(in: session, after: 0, through: nil, limit: nil)
        let records = try await audit?.records(in: session) ?? []
        let export = SessionExport(summary: summary, events: events, records: records)
        let text = format == "json" ? export.json() : export.markdown()
        let name = "bedside-\(session.rawValue).\(format == "json" ? "json" : "md")"
        return Response(
            status: .ok,
            headers: [
                .contentType: format == "json" ? "application/json; charset=utf-8" : "text/markdown; charset=utf-8",
                .contentDisposition: #"attachment; filename="\#(name)""#,
            ],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    // MARK: Principals and the patient audit

    private func principals() throws -> Response {
        let records = try authentication.database?.principals() ?? []
        var json = JSONWriter()
        json.beginObject()
        json.key("principals")
        json.beginArray()
        if !authentication.isEnabled {
            json.principal(.local, lastSeen: nil)
        }
        for record in records.sorted(by: { $0.lastSeen > $1.lastSeen }) {
            json.beginObject()
            json.member("key", record.key)
            json.member("issuer", record.issuer)
            json.member("subject", record.subject)
            json.member("name", record.name)
            json.member("last_seen", Timestamp(date: record.lastSeen).iso8601)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return Response.json(json.text)
    }

    private func patientAudit(_ request: Request) async throws -> Response {
        guard let patient = request.uri.queryParameters["patient"].map(String.init),
            PatientID.isValid(patient)
        else {
            throw APIError(.badRequest, .invalidPatientID, "patient must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '.'.")
        }
        let records = try await audit?.records(patient: patient) ?? []
        var known: [String: PrincipalRecord] = [:]
        for owner in Set(records.map(\.sessionID.owner)) {
            if let record = try authentication.database?.principal(key: owner) { known[owner] = record }
        }
        var json = JSONWriter()
        json.beginObject()
        json.member("patient_id", patient)
        json.key("records")
        json.auditRecords(records, principals: known)
        json.endObject()
        return Response.json(json.text)
    }

    // MARK: The per-user channel

    private func updates(_ caller: Caller) -> Response {
        let owner = caller.principal.key
        let (id, stream) = hub.userChannel.subscribe(owner: owner)
        let watched = watch?.register(caller.credential) { _ in
            hub.userChannel.unsubscribe(owner: owner, id: id)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody { [hub, directory, watch] writer in
                defer {
                    watch?.unregister(watched)
                    hub.userChannel.unsubscribe(owner: owner, id: id)
                }
                try await writer.write(ByteBuffer(string: "event: ready\ndata: {}\n\n"))
                for await update in stream {
                    var json = JSONWriter()
                    let event: String
                    switch update {
                    case .changed(let session):
                        guard let summary = try? await directory?.summary(of: session) else { continue }
                        json.summary(summary)
                        event = "session"
                    case .deleted(let session):
                        json.beginObject()
                        json.member("id", session.rawValue)
                        json.endObject()
                        event = "session_deleted"
                    }
                    try await writer.write(ByteBuffer(string: "event: \(event)\ndata: \(json.text)\n\n"))
                }
                try await writer.finish(nil)
            }
        )
    }
}

/// An integer query parameter within a range, or 400 `invalid_message`.
enum QueryInteger {
    static func read(_ raw: Substring?, name: String, default value: Int64, range: ClosedRange<Int64>) throws(APIError) -> Int64 {
        guard let raw else { return value }
        guard let parsed = Int64(raw), range.contains(parsed) else {
            throw APIError(
                .badRequest,
                .invalidMessage,
                "The query parameter \(name) must be an integer in \(range.lowerBound)...\(range.upperBound)."
            )
        }
        return parsed
    }
}
