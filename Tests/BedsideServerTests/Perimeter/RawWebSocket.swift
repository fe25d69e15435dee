import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket upgrade over a plain socket that reads the server's frames byte for byte, for
/// connections the server refuses right after the upgrade.
///
/// HummingbirdWSClient (``TestSocket``) sometimes loses frames that arrive in the same read as
/// the `101` answer; a browser does not, and neither does this.
enum RawWebSocket {
    /// What the server sent after the upgrade, up to and including its close frame.
    struct Transcript: Sendable {
        var status: Int
        var texts: [String]
        var closeCode: Int?
        var closeReason: String?
    }

    static func open(port: Int, path: String, headers: [(String, String)] = [], timeout: Duration = .seconds(30)) async throws -> Transcript
    {
        var request =
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        return try await RawHTTP.onThread {
            let fd = try HTTPGet.connectedSocket(port: port)
            defer { close(fd) }
            try HTTPGet.sendAll(fd, bytes)
            let deadline = ContinuousClock.now + timeout
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            RawHTTP.setTimeout(fd, seconds: 1)
            while ContinuousClock.now < deadline {
                if let transcript = parse(received), transcript.closeCode != nil || transcript.status != 101 { return transcript }
                let count = read(fd, &buffer, buffer.count)
                if count == 0 { break }
                if count > 0 { received.append(contentsOf: buffer[0..<count]) }
            }
            guard let transcript = parse(received) else { throw TestFailure("no upgrade answer") }
            return transcript
        }
    }

    /// The answer so far; nil until its head is complete.
    private static func parse(_ bytes: [UInt8]) -> Transcript? {
        guard let end = headEnd(bytes) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        var transcript = Transcript(status: status, texts: [])
        var offset = end + 4
        while offset + 2 <= bytes.count {
            let opcode = bytes[offset] & 0x0F
            var length = Int(bytes[offset + 1] & 0x7F)
            var start = offset + 2
            if length == 126 {
                guard start + 2 <= bytes.count else { break }
                length = Int(bytes[start]) << 8 | Int(bytes[start + 1])
                start += 2
            } else if length == 127 {
                guard start + 8 <= bytes.count else { break }
                length = bytes[start..<start + 8].reduce(0) { $0 << 8 | Int($1) }
                start += 8
            }
            guard start + length <= bytes.count else { break }
            let payload = Array(bytes[start..<start + length])
            switch opcode {
            case 0x1:
                transcript.texts.append(String(decoding: payload, as: UTF8.self))
            case 0x8:
                transcript.closeCode = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
                transcript.closeReason = String(decoding: payload.dropFirst(2), as: UTF8.self)
            default:
                break
            }
            offset = start + length
        }
        return transcript
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }
}
