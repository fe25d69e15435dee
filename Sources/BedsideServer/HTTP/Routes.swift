import BedsideCore
import BedsideProtocol
import Hummingbird

/// The HTTP endpoints beside the socket: health, readiness, metrics, patient import and reading,
/// and a diagnosis for `/ws` requests that are not upgrades. The conversation routes are
/// ``SessionRoutes``; sign-in and keys ``AuthRoutes``.
func addRoutes(
    to router: Router<BasicRequestContext>,
    hub: SessionHub,
    authentication: Authentication,
    patients: PatientRoutes,
    upgradeCheck: UpgradeCheck,
    tracing: String,
    warning: String?,
    toolSources: (any ToolSourceStatusProvider)? = nil
) {
    // Middleware applies only to routes registered after it.
    router.add(middleware: HTTPMetricsMiddleware(metrics: hub.metrics))
    router.add(middleware: ErrorBodyMiddleware())
    hub.metrics.addRoute(to: router, hub: hub, authentication: authentication)
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
        // Readable is not enough: while events wait because writes fail, the store is unavailable.
        if !hub.storeIsWritable { storeStatus = "unavailable" }
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
        json.key("auth")
        json.beginArray()
        for mode in Authentication.Mode.allCases where authentication.modes.contains(mode) { json.string(mode.rawValue) }
        json.endArray()
        json.endObject()
        if let warning { json.member("warning", warning) }
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
        json.member("unwritten_events", Int64(hub.persister.unwrittenEvents))
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

    // A plain GET of /ws explains what an upgrade would have been refused for: browsers cannot
    // read the body of a refused WebSocket upgrade (always a bare 400), so this is where to look.
    router.get("/ws") { request, _ -> Response in
        try await upgradeCheck.diagnose(request)
        throw APIError(.upgradeRequired, .invalidMessage, "This endpoint speaks WebSocket: send an Upgrade request.")
    }
}
