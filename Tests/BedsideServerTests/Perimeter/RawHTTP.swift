import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 over a plain socket with every header as given, `Host` included (or left out), for
/// the tests that play a rebinding page, a proxy or a slow client. Runs on its own thread, like
/// ``HTTPGet``, so blocking reads never hold a thread the server needs.
enum RawHTTP {
    /// Sends one request (`Connection: close`) and reads the answer to its end.
    static func perform(
        port: Int,
        _ method: String,
        _ path: String,
        host: String?,
        headers: [(String, String)] = [],
        body: String? = nil
    ) async throws -> HTTPResponseText {
        var text = "\(method) \(path) HTTP/1.1\r\n"
        if let host { text += "Host: \(host)\r\n" }
        text += "Connection: close\r\n"
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n" + (body ?? "")
        let request = text
        return try await onThread {
            let fd = try HTTPGet.connectedSocket(port: port)
            defer { close(fd) }
            setTimeout(fd, seconds: 30)
            try HTTPGet.sendAll(fd, Array(request.utf8))
            return try HTTPResponseText(parsing: HTTPGet.readToEnd(fd))
        }
    }

    /// Runs blocking socket work on a thread of its own.
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    static func setTimeout(_ fd: Int32, seconds: Int, microseconds: Int = 0) {
        var timeout = timeval(tv_sec: seconds, tv_usec: microseconds)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// What a read on `fd` shows within `timeout`: the server closed it, sent bytes, or nothing.
    enum ReadOutcome: Equatable {
        case closed
        case data(Int)
        case nothing
    }

    static func poll(_ fd: Int32, timeout: Duration) -> ReadOutcome {
        let milliseconds = Int(timeout / .milliseconds(1))
        setTimeout(fd, seconds: milliseconds / 1000, microseconds: (milliseconds % 1000) * 1000)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &buffer, buffer.count)
        if count > 0 { return .data(count) }
        if count == 0 || errno == ECONNRESET { return .closed }
        return .nothing
    }
}
