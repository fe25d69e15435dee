import BedsideProtocol
import Hummingbird
import Logging

/// Gives every failed HTTP request the same body, `{"error": "…", "code": "…"}`: unknown paths
/// become `not_found`, framework errors keep their status, anything unexpected becomes a 500
/// `internal` with the detail in the server log only.
struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                throw APIError(.notFound, .notFound, "Nothing here: \(request.method) \(request.uri.path) is not a Bedside endpoint.")
            case .methodNotAllowed:
                throw APIError(.methodNotAllowed, .invalidMessage, "\(request.method) is not allowed on \(request.uri.path).")
            default:
                let code: ErrorCode = error.status.code >= 500 ? .internal : .invalidMessage
                throw APIError(error.status, code, error.body ?? error.status.reasonPhrase)
            }
        } catch {
            context.logger.error("Request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(.internalServerError, .internal, "The server could not complete this request; its log has the details.")
        }
    }
}
