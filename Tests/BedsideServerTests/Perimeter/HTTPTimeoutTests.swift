import BedsideCore
import BedsideStore
import Foundation
import Logging
import Testing

@testable import BedsideServer

#if canImport(Glibc)
import Glibc
#endif

/// Slowloris over real sockets: before, 100 half-sent requests held for 60 s all stayed open.
/// The timeouts here are configured short (300 ms); the defaults are checked where the channel
/// gets them, so no test sleeps for ten seconds.
@Suite struct HTTPTimeoutTests {
    static let halfHead = Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8)

    static func refusals(_ server: LiveServer, _ limit: String) async throws -> Double {
        try await ConnectionLimitTests.refusals(server, limit)
    }

    @Test func halfSentRequestsAreClosedAfterTheHeaderTimeout() async throws {
        let server = try await LiveServer.start { $0.limits.headerTimeout = .milliseconds(300) }
        let port = server.port
        let (outcomes, elapsed) = try await RawHTTP.onThread {
            let started = ContinuousClock.now
            var sockets: [Int32] = []
            defer { for fd in sockets { close(fd) } }
            for _ in 0..<20 {
                let fd = try HTTPGet.connectedSocket(port: port)
                sockets.append(fd)
                try HTTPGet.sendAll(fd, Self.halfHead)
            }
            let outcomes = sockets.map { RawHTTP.poll($0, timeout: .seconds(30)) }
            return (outcomes, ContinuousClock.now - started)
        }
        #expect(outcomes == Array(repeating: .closed, count: 20))
        #expect(elapsed < .seconds(10), "closed after \(elapsed), as late as the default would")
        // A connection that sends nothing at all is closed too.
        let silent = try await RawHTTP.onThread {
            let fd = try HTTPGet.connectedSocket(port: port)
            defer { close(fd) }
            return RawHTTP.poll(fd, timeout: .seconds(30))
        }
        #expect(silent == .closed)
        #expect(try await Self.refusals(server, "header_timeout") == 21)
        // A client that sends its request at once is served as before.
        #expect(try await server.get("/health").0 == 200)
        try await server.stop()
    }

    @Test func tricklingBytesDoesNotExtendTheHeaderTimeout() async throws {
        let server = try await LiveServer.start { $0.limits.headerTimeout = .milliseconds(500) }
        let port = server.port
        let sent = try await RawHTTP.onThread {
            let fd = try HTTPGet.connectedSocket(port: port)
            defer { close(fd) }
            var sent = 0
            for byte in Self.halfHead + Array(repeating: UInt8(ascii: "x"), count: 60) {
                guard (try? HTTPGet.sendAll(fd, [byte])) != nil else { break }
                sent += 1
                if RawHTTP.poll(fd, timeout: .milliseconds(100)) == .closed { break }
            }
            return sent
        }
        // Closed long before the head (over 100 bytes, one per 100 ms) could have been complete.
        #expect(sent < Self.halfHead.count + 60, "\(sent) bytes sent before the close")
        try await server.stop()
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        let server = try await LiveServer.start { $0.limits.idleTimeout = .milliseconds(300) }
        let port = server.port
        let (answer, afterward) = try await RawHTTP.onThread {
            let fd = try HTTPGet.connectedSocket(port: port)
            defer { close(fd) }
            try HTTPGet.sendAll(fd, Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
            let answer = RawHTTP.poll(fd, timeout: .seconds(30))
            var afterward = RawHTTP.poll(fd, timeout: .seconds(30))
            while case .data = afterward { afterward = RawHTTP.poll(fd, timeout: .seconds(30)) }
            return (answer, afterward)
        }
        guard case .data = answer else { throw TestFailure("no answer: \(answer)") }
        #expect(afterward == .closed)
        #expect(try await Self.refusals(server, "idle_timeout") == 1)
        try await server.stop()
    }

    @Test func aLongAnswerAndAWebSocketAreNotTimedOut() async throws {
        let server = try await LiveServer.start {
            $0.limits.headerTimeout = .milliseconds(300)
            $0.limits.idleTimeout = .milliseconds(300)
        }
        let port = server.port
        // An event stream the client only reads: the response is open, no deadline applies.
        let (head, later) = try await RawHTTP.onThread {
            let fd = try HTTPGet.connectedSocket(port: port)
            defer { close(fd) }
            try HTTPGet.sendAll(fd, Array("GET /sessions/updates HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
            let head = RawHTTP.poll(fd, timeout: .seconds(30))
            var later = RawHTTP.ReadOutcome.nothing
            let until = ContinuousClock.now + .seconds(1)
            while ContinuousClock.now < until, later != .closed { later = RawHTTP.poll(fd, timeout: .milliseconds(200)) }
            return (head, later)
        }
        guard case .data = head else { throw TestFailure("no stream: \(head)") }
        #expect(later != .closed)
        // A WebSocket idle for longer than both timeouts still works.
        let session = newSessionID()
        let socket = try await server.open(session)
        try await Task.sleep(for: .seconds(1))
        try await socket.send(Frame.message(session, "still there?"))
        #expect(try await socket.receiveTurn().last?.status == "completed")
        try await socket.close()
        try await server.stop()
    }

    @Test func theDefaultsAreWhatTheChannelUses() async throws {
        #expect(ServerLimits().headerTimeout == .seconds(10))
        #expect(ServerLimits().idleTimeout == .seconds(60))
        let application = buildApplication(
            configuration: ServerConfiguration(port: 0),
            dependencies: ServerDependencies(store: InMemoryEventStore(), runner: ScriptedRunner(), logger: Logger(label: "test"))
        )
        #expect(application.httpTimeouts == HTTPTimeouts(header: .seconds(10), idle: .seconds(60)))
        // And a half-sent request at the default is not closed within a second.
        let server = try await LiveServer.start()
        let port = server.port
        let outcome = try await RawHTTP.onThread {
            let fd = try HTTPGet.connectedSocket(port: port)
            defer { close(fd) }
            try HTTPGet.sendAll(fd, Self.halfHead)
            return RawHTTP.poll(fd, timeout: .seconds(1))
        }
        #expect(outcome == .nothing)
        try await server.stop()
    }
}
