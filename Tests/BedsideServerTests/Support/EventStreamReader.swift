import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Reads a `text/event-stream` answer over a real TCP socket to 127.0.0.1, on a thread of its
/// own, one event (`event:` and `data:` lines) at a time.
final class EventStreamReader: Sendable {
    struct Event: Sendable, Equatable {
        var event: String
        var data: String
    }

    private let fd: Int32
    private let queue: Queue
    let status: Int

    /// What the reading thread has received and the test has not yet taken.
    private final class Queue: Sendable {
        let state = Mutex((events: [Event](), ended: false))
    }

    private init(fd: Int32, status: Int, queue: Queue) {
        self.fd = fd
        self.status = status
        self.queue = queue
    }

    static func open(port: Int, path: String, headers: [String: String]) async throws -> EventStreamReader {
        let fd = try HTTPGet.connectedSocket(port: port)
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try HTTPGet.sendAll(fd, Array(request.utf8))
        let queue = Queue()
        let (statuses, statusContinuation) = AsyncStream.makeStream(of: Int.self)
        let thread = Thread {
            var pending = ""
            var headerDone = false
            var buffer = [UInt8](repeating: 0, count: 4096)
            var event = "message"
            var data = ""
            while true {
                let count = read(fd, &buffer, buffer.count)
                if count <= 0 { break }
                pending += String(decoding: buffer[0..<count], as: UTF8.self)
                if !headerDone {
                    guard let end = pending.range(of: "\r\n\r\n") else { continue }
                    let status = Int(pending[..<end.lowerBound].split(separator: " ").dropFirst().first ?? "") ?? 0
                    statusContinuation.yield(status)
                    statusContinuation.finish()
                    pending = String(pending[end.upperBound...])
                    headerDone = true
                }
                // Chunk-size lines are hex digits alone on a line; the event lines never are.
                // By scalars: "\r\n" is one Character, which a search for "\n" would not find.
                while let newline = pending.unicodeScalars.firstIndex(of: "\n") {
                    let line = String(pending.unicodeScalars[..<newline]).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
                    pending = String(pending.unicodeScalars[pending.unicodeScalars.index(after: newline)...])
                    if line == "0" {
                        // The last chunk: the server ended the response (the connection may stay open).
                        queue.state.withLock { $0.ended = true }
                    } else if line.hasPrefix("event: ") {
                        event = String(line.dropFirst(7))
                    } else if line.hasPrefix("data: ") {
                        data = String(line.dropFirst(6))
                    } else if line.isEmpty, !data.isEmpty {
                        let complete = Event(event: event, data: data)
                        queue.state.withLock { $0.events.append(complete) }
                        event = "message"
                        data = ""
                    }
                }
            }
            statusContinuation.finish()
            queue.state.withLock { $0.ended = true }
        }
        thread.start()
        var iterator = statuses.makeAsyncIterator()
        let status = await iterator.next() ?? 0
        return EventStreamReader(fd: fd, status: status, queue: queue)
    }

    /// The next event, or nil when the stream ended or none came within `timeout`.
    func next(timeout: Duration = .seconds(60)) async throws -> Event? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (event, ended) = queue.state.withLock { state -> (Event?, Bool) in
                if state.events.isEmpty { return (nil, state.ended) }
                return (state.events.removeFirst(), false)
            }
            if let event { return event }
            if ended || ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Whether the server ended the stream.
    var ended: Bool { queue.state.withLock { $0.ended } }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }
}
