import BedsideCore
import BedsideTestSupport
import Foundation
import Testing

/// `GET /metrics`, scraped and parsed, against the traffic a test sent.
@Suite struct MetricsTests {
    @Test func metricsCountTheTrafficSent() async throws {
        let turns = 3
        let rig = try await TraceRig.start((0..<turns).flatMap { _ in TraceRig.twoToolReplies }, tracesURL: nil)
        var received: [JSONValue] = []
        for _ in 0..<turns {
            received += try await rig.turn("Glucose and conditions?").events
        }
        for _ in 0..<2 { _ = try await rig.server.get("/health") }
        _ = try await rig.server.get("/no-such-page")

        // The last events' delivery is recorded just after their write: poll briefly for it.
        var metrics = try await scrape(rig.server)
        let deadline = ContinuousClock.now + .seconds(10)
        while metrics.value("bedside_event_delivery_lag_seconds_count") != Double(received.count), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            metrics = try await scrape(rig.server)
        }

        #expect(metrics.value("bedside_turns_total", ["status": "completed"]) == Double(turns))
        #expect(metrics.value("bedside_turn_duration_seconds_count", ["status": "completed"]) == Double(turns))
        var byType: [String: Int] = [:]
        for event in received { byType[event.type ?? "?", default: 0] += 1 }
        for (type, count) in byType {
            #expect(metrics.value("bedside_events_total", ["type": type]) == Double(count), "\(type)")
        }
        #expect(metrics.value("bedside_events_total", ["type": "error"]) == 0)
        // Every event a socket received was timed from emission to the write.
        #expect(metrics.value("bedside_event_delivery_lag_seconds_count") == Double(received.count))
        #expect(metrics.value("bedside_outbox_overflows_total") == 0)

        // GenAI client metrics: two requests per turn, tokens by type.
        let chat = ["gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-wire"]
        #expect(metrics.value("gen_ai_client_operation_duration_seconds_count", chat) == Double(2 * turns))
        #expect(metrics.value("gen_ai_client_token_usage_count", chat.merging(["gen_ai_token_type": "input"]) { $1 }) == Double(2 * turns))
        #expect(metrics.value("gen_ai_client_token_usage_sum", chat.merging(["gen_ai_token_type": "input"]) { $1 }) == Double(712 * turns))
        #expect(metrics.value("gen_ai_client_token_usage_sum", chat.merging(["gen_ai_token_type": "output"]) { $1 }) == Double(35 * turns))
        for tool in ["latest_lab", "list_conditions"] {
            #expect(metrics.value("bedside_tool_call_duration_seconds_count", ["tool": tool, "error": "false"]) == Double(turns))
        }

        // HTTP requests by route and status (a scrape is counted once it is answered).
        #expect(metrics.value("bedside_http_requests_total", ["method": "GET", "route": "/health", "status": "200"]) == 2)
        #expect(metrics.value("bedside_http_requests_total", ["route": "NotFound", "status": "404"]) == 1)
        let again = try await scrape(rig.server)
        #expect((again.value("bedside_http_requests_total", ["route": "/metrics", "status": "200"]) ?? 0) >= 1)

        // Every socket is closed; no session holds a connection.
        #expect(metrics.value("bedside_websocket_connections") == 0)
        #expect(metrics.value("bedside_tracing_enabled") == 0)
        try await rig.stop()
    }

    @Test func openConnectionsAndSessionsAreGauges() async throws {
        let rig = try await TraceRig.start([], tracesURL: nil)
        let sockets = [try await rig.server.open(newSessionID()), try await rig.server.open(newSessionID())]
        let metrics = try await scrape(rig.server)
        #expect(metrics.value("bedside_websocket_connections") == 2)
        #expect(metrics.value("bedside_sessions") == 2)
        for socket in sockets { try await socket.close() }
        try await rig.stop()
    }

    private func scrape(_ server: LiveServer) async throws -> PrometheusText {
        let reply = try await server.reply("/metrics")
        #expect(reply.status == 200)
        #expect(reply.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        return try PrometheusText(reply.body)
    }
}
