import Hummingbird
import ServiceLifecycle

/// Runs the ``CredentialWatch`` beside the server until graceful shutdown.
struct CredentialWatchService: Service {
    let watch: CredentialWatch

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await watch.run()
        }
    }
}

/// Adds `Strict-Transport-Security` to every answer served over TLS.
struct StrictTransportMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            response.headers[.strictTransportSecurity] = "max-age=31536000"
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[.strictTransportSecurity] = "max-age=31536000"
            return response
        }
    }
}
