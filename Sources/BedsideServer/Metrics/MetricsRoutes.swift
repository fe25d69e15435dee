import BedsideAuth
import Hummingbird

/// Counts every HTTP request by method, matched route (the pattern, not the path, so ids do
/// not explode the label set) and status, and times it.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: BedsideMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = { context.endpointPath ?? "unmatched" }
        do {
            let response = try await next(request, context)
            metrics.httpRequest(
                method: request.method.rawValue,
                route: route(),
                status: response.status.code,
                duration: .now - start
            )
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.httpRequest(method: request.method.rawValue, route: route(), status: status, duration: .now - start)
            throw error
        }
    }
}

extension BedsideMetrics {
    /// Adds `GET /metrics` (Prometheus text format) to `router`.
    /// It needs the admin role, or `Authorization: Bearer` with `--metrics-token`.
    func addRoute(to router: Router<BasicRequestContext>, hub: SessionHub, authentication: Authentication) {
        router.get("/metrics") { request, _ in
            if !authentication.allowsMetrics(request) {
                _ = try await authentication.require(request, anyOf: [.admin])
            }
            let counts = hub.connectionCounts
            self.updateGauges(
                openConnections: counts.connections,
                sessions: counts.sessions,
                unwrittenEvents: hub.persister.unwrittenEvents
            )
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: self.exposition()))
            )
        }
    }
}
