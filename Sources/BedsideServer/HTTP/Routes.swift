import BedsideCore
import BedsideProtocol
import Hummingbird

/// The HTTP endpoints beside the socket: health, readiness, a session's history and access
/// audit, patient import and reading, and a diagnosis for `/ws` requests that are not upgrades.
func addRoutes(
    to router: Router<BasicRequestContext>,
    hub: SessionHub,
    audit: (any AccessAudit)?,
    patients: PatientRoutes,
    upgradeCheck: UpgradeCheck,
    tracing: String,
    toolSources: (any ToolSourceStatusProvider)? = nil
) {
    // Middleware applies only to routes registered after it.
    router.add(middleware: HTTPMetricsMiddleware(metrics: hub.metrics))
    router.add(middleware: ErrorBodyMiddleware())
    hub.metrics.addRoute(to: router, hub: hub)
    patients.add(to: router)
    router.get("/health") { _, _ in
        var json = JSONWriter()
        json.beginObject()
        json.member("status", "ok")
        json.member("version", hub.serverVersion)
        json.endObject()
        return Response.json(json.text)
    }

    router.get("/ready") { _, _ in
        var storeStatus = "ok"
        do {
            try await hub.store.ping()
        } catch {
            storeStatus = "unavailable"
        }
        let ready = storeStatus == "ok" && !hub.isShuttingDown
        var json = JSONWriter()
        json.beginObject()
        json.member("status", ready ? "ready" : "unavailable")
        json.key("checks")
        json.beginObject()
        json.member("store", storeStatus)
        json.member("turn_runner", hub.runner.description)
        json.member("accepting_connections", !hub.isShuttingDown)
        json.member("tracing", tracing)
        json.endObject()
        json.key("model")
        if let model = hub.runner.languageModel {
            json.beginObject()
            json.member("provider", model.providerName)
            json.member("name", model.modelName)
            if let endpoint = model.endpoint { json.member("endpoint", endpoint) }
            json.endObject()
        } else {
            json.null()
        }
        json.member("active_sessions", Int64(hub.activeSessionCount))
        if let toolSources {
            // MCP servers do not decide readiness: a server that is down only lacks its tools.
            json.key("mcp")
            json.beginArray()
            for source in await toolSources.toolSourceStatuses() {
                json.beginObject()
                json.member("name", source.name)
                json.member("transport", source.transport)
                json.member("state", source.state.rawValue)
                json.member("tools", Int64(source.toolCount))
                json.member("hidden_tools", Int64(source.hiddenToolCount))
                json.member("last_error", source.lastError)
                json.endObject()
            }
            json.endArray()
        }
        json.endObject()
        return Response.json(json.text, status: ready ? .ok : .serviceUnavailable)
    }

    router.get("/sessions/:id/audit") { _, context in
        let session = try sessionID(context)
        let records = try await audit?.records(in: session) ?? []
        var json = JSONWriter()
        json.beginObject()
        json.member("session_id", session.rawValue)
        json.key("records")
        json.beginArray()
        for record in records {
            json.beginObject()
            json.member("time", Timestamp(microseconds: record.timeMicros).iso8601)
            json.member("turn_id", record.turnID)
            json.member("tool_call_id", record.toolCallID)
            json.member("tool", record.tool)
            json.key("patient_ids")
            json.beginArray()
            for id in record.patientIDs { json.string(id) }
            json.endArray()
            json.key("resources")
            json.beginArray()
            for reference in record.resources { json.string(reference) }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return Response.json(json.text)
    }

    router.get("/sessions/:id/events") { request, context in
        let session = try sessionID(context)
        let query = request.uri.queryParameters
        let after = try integer(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let limit = try integer(query["limit"], name: "limit", default: 1000, range: 1...10_000)
        let events = try await hub.store.events(in: session, after: after, through: nil, limit: Int(limit) + 1)
        let page = events.prefix(Int(limit))
        var body = String()
        body.reserveCapacity(page.reduce(64) { $0 + $1.json.utf8.count + 1 })
        body.append("{\"session_id\":\"\(session.rawValue)\",\"events\":[")
        for (index, event) in page.enumerated() {
            if index > 0 { body.append(",") }
            body.append(event.json)
        }
        body.append("],\"has_more\":\(events.count > page.count)}")
        return Response.json(body)
    }

    // A plain GET of /ws explains what an upgrade would have been refused for: browsers cannot
    // read the body of a refused WebSocket upgrade (always a bare 400), so this is where to look.
    router.get("/ws") { request, _ -> Response in
        _ = try upgradeCheck.check(request)
        throw APIError(.upgradeRequired, .invalidMessage, "This endpoint speaks WebSocket: send an Upgrade request.")
    }
}

private func sessionID(_ context: BasicRequestContext) throws -> SessionID {
    guard let session = SessionID(context.parameters.get("id") ?? "") else {
        throw APIError(.badRequest, .invalidSessionID, "The session id must be 8 to 128 characters of A-Z, a-z, 0-9, '_' or '-'.")
    }
    return session
}

private func integer(_ raw: Substring?, name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
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
