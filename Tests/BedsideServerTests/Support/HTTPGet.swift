import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP answer as the tests read it.
struct HTTPResponseText: Sendable {
    var status: Int
    /// Header fields by lowercased name.
    var headers: [String: String]
    var body: String
}

extension HTTPResponseText {
    /// Reads the status line, header fields and body of a whole HTTP/1.1 answer (not de-chunked).
    init(parsing bytes: [UInt8]) throws {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n") else { throw TestFailure("no HTTP response in \(text)") }
        let head = text[..<headerEnd.lowerBound]
        status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        var fields: [String: String] = [:]
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        headers = fields
        body = String(text[headerEnd.upperBound...])
    }
}

/// A minimal HTTP/1.1 client (GET, or any method with a body) over a real TCP socket to 127.0.0.1, run on a thread of its own: a
/// blocking read must never occupy one of the few threads (cooperative pool or Dispatch's
/// global queues, which share their width limit here) that the server's tasks need.
enum HTTPGet {
    /// A response: status, header fields (names lowercased) and body.
    static func fetch(port: Int, path: String, headers: [String: String]) async throws -> (Int, String) {
        let response = try await perform(port: port, method: "GET", path: path, headers: headers)
        return (response.status, response.body)
    }

    /// A GET answer with its headers, as the static-file tests read it.
    typealias Reply = HTTPResponseText

    static func fetchReply(port: Int, path: String, headers: [String: String]) async throws -> Reply {
        try await perform(port: port, method: "GET", path: path, headers: headers)
    }

    /// Any request with an optional body; the answer's header names are lowercased.
    static func perform(
        port: Int,
        method: String,
        path: String,
        headers: [String: String] = [:],
        body: Data? = nil
    ) async throws -> HTTPResponseText {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    with: Result { try blockingSend(port: port, method: method, path: path, headers: headers, body: body) }
                )
            }
            thread.start()
        }
    }

    private static func blockingSend(
        port: Int,
        method: String,
        path: String,
        headers: [String: String],
        body: Data?
    ) throws -> HTTPResponseText {
        let fd = try connectedSocket(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let body { request += "Content-Length: \(body.count)\r\n" }
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try sendAll(fd, Array(request.utf8))
        if let body { try sendAll(fd, Array(body)) }
        var reply = try HTTPResponseText(parsing: readToEnd(fd))
        if reply.headers["transfer-encoding"]?.lowercased() == "chunked" { reply.body = dechunk(reply.body) }
        return reply
    }

    /// A TCP socket connected to 127.0.0.1:`port`; the caller closes it.
    static func connectedSocket(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestFailure("connect() failed")
        }
        return fd
    }

    /// Writes every byte; a short write continues where it stopped.
    /// Everything until the peer closes (or the socket's receive timeout passes).
    static func readToEnd(_ fd: Int32) -> [UInt8] {
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        return response
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw TestFailure("send() failed after \(sent) of \(bytes.count) bytes") }
            sent += count
        }
    }

    private static func dechunk(_ text: String) -> String {
        var rest = Substring(text)
        var body = ""
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let chunk = rest.utf8[start...].prefix(size)
            body += String(decoding: chunk, as: UTF8.self)
            rest = rest[rest.utf8.index(start, offsetBy: size)...].dropFirst(2)
        }
        return body
    }
}
