import BedsideProtocol
import Hummingbird

extension OriginPolicy {
    /// Refuses a request whose `Origin` is not allowed, with 403 `origin_not_allowed`.
    ///
    /// Every `Origin` value must pass: a request cannot slip a foreign origin behind an allowed
    /// one. `action` completes the message, e.g. "open a session".
    func check(_ request: Request, to action: String) throws(APIError) {
        for origin in request.headers[values: .origin] where !allows(origin: origin, authority: request.head.authority) {
            throw APIError(
                .forbidden,
                .originNotAllowed,
                "The origin \(origin) may not \(action): add it with --allowed-origins."
            )
        }
    }
}
