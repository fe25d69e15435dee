import BedsideCore
import HTTPTypes
import NIOCore
import Testing

@testable import BedsideServer

/// The pure parts of the limits: client addresses behind proxies, token buckets, the HTTP
/// timeout state and the connection counts, driven by explicit instants instead of sleeps.
@Suite struct LimitStateTests {
    static func forwarded(_ values: String...) -> HTTPFields {
        var fields = HTTPFields()
        for value in values { fields.append(HTTPField(name: HTTPField.Name("X-Forwarded-For")!, value: value)) }
        return fields
    }

    static func address(_ text: String) throws -> IPAddress { try #require(IPAddress(text)) }

    @Test func addressBlocksContainTheirAddresses() throws {
        let block = try #require(AddressBlock("10.0.0.0/8"))
        #expect(block.contains(try Self.address("10.255.1.2")))
        #expect(block.contains(try Self.address("::ffff:10.1.1.1")))
        #expect(!block.contains(try Self.address("11.0.0.1")))
        let v6 = try #require(AddressBlock("fd00::/8"))
        #expect(v6.contains(try Self.address("fd12:3456::1")))
        #expect(!v6.contains(try Self.address("fe80::1")))
        #expect(!v6.contains(try Self.address("10.0.0.1")))
        let odd = try #require(AddressBlock("192.168.1.128/25"))
        #expect(odd.contains(try Self.address("192.168.1.200")))
        #expect(!odd.contains(try Self.address("192.168.1.127")))
        #expect(try #require(AddressBlock("0.0.0.0/0")).contains(try Self.address("8.8.8.8")))
        #expect(try #require(AddressBlock("::1")).contains(try Self.address("::1")))
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "proxy.example", "10.0.0.0/8/8"] {
            #expect(AddressBlock(bad) == nil, "\(bad)")
        }
    }

    @Test func forwardedForIsReadOnlyFromTrustedProxies() throws {
        let untrusted = ClientAddressResolver(trustedProxies: [])
        let spoofed = Self.forwarded("203.0.113.9")
        #expect(untrusted.clientAddress(peer: try Self.address("127.0.0.1"), headers: spoofed) == "127.0.0.1")

        let proxies = ClientAddressResolver(trustedProxies: ["127.0.0.1", "10.0.0.0/8", "fd00::/8"])
        let peer = try Self.address("10.0.0.2")
        #expect(proxies.clientAddress(peer: peer, headers: Self.forwarded("203.0.113.9")) == "203.0.113.9")
        // The right-most untrusted entry: what the client wrote to the left of it is ignored.
        #expect(proxies.clientAddress(peer: peer, headers: Self.forwarded("1.1.1.1, 203.0.113.9, 10.0.0.7")) == "203.0.113.9")
        #expect(proxies.clientAddress(peer: peer, headers: Self.forwarded("1.1.1.1", "203.0.113.9, 10.0.0.7")) == "203.0.113.9")
        #expect(proxies.clientAddress(peer: peer, headers: Self.forwarded("[2001:db8::5]:4711")) == "2001:db8::5")
        #expect(proxies.clientAddress(peer: peer, headers: Self.forwarded("198.51.100.4:1234")) == "198.51.100.4")
        // Garbage a trusted proxy would not write ends the walk at its right-hand neighbour.
        #expect(proxies.clientAddress(peer: peer, headers: Self.forwarded("garbage, 10.0.0.9")) == "10.0.0.9")
        #expect(proxies.clientAddress(peer: peer, headers: Self.forwarded("garbage")) == "10.0.0.2")
        #expect(proxies.clientAddress(peer: peer, headers: HTTPFields()) == "10.0.0.2")
        // A dual-stack socket's view of an IPv4 proxy is that proxy.
        #expect(proxies.clientAddress(peer: try Self.address("::ffff:10.0.0.2"), headers: Self.forwarded("203.0.113.9")) == "203.0.113.9")
        #expect(proxies.clientAddress(peer: try Self.address("192.0.2.1"), headers: Self.forwarded("203.0.113.9")) == "192.0.2.1")
        #expect(proxies.clientAddress(peer: nil, headers: Self.forwarded("203.0.113.9")) == "unknown")
        #expect(ClientAddressResolver(trustedProxies: ["10.0.0.0/8", "nope"]).invalidEntries == ["nope"])
    }

    @Test func tokenBucketsAllowTheirBurstThenTheRate() throws {
        #expect(TokenBucket(perSecond: 0) == nil)
        var bucket = try #require(TokenBucket(perSecond: 2))
        let start = ContinuousClock.now
        // A long pause refills only up to the burst.
        let offsets: [Duration] = [
            .zero, .zero, .zero, .milliseconds(400), .milliseconds(500), .milliseconds(600), .seconds(60), .seconds(60), .seconds(60),
        ]
        let taken = offsets.map { bucket.take(at: start + $0) }
        #expect(taken == [true, true, false, false, true, false, true, true, false])
    }

    @Test func theDefaultFrameRatesAreTwentyAndTwo() throws {
        let limits = ServerConfiguration().connectionLimits
        #expect(limits.maxMessagesPerSecond == 20)
        #expect(limits.maxResumesPerSecond == 2)
        var frames = try #require(TokenBucket(perSecond: limits.maxMessagesPerSecond))
        let now = ContinuousClock.now
        let taken = (0..<21).map { _ in frames.take(at: now) }
        #expect(taken == Array(repeating: true, count: 20) + [false])
    }

    @Test func headTimeoutRunsFromConnectingAndTricklingDoesNotExtendIt() {
        let timeouts = HTTPTimeouts(header: .seconds(10), idle: .seconds(60))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var state = HTTPTimeoutState(timeouts: timeouts, connectedAt: start)
        #expect(state.deadline == .init(at: start + .seconds(10), limit: .headerTimeout))
        state.bytesReceived(at: start + .seconds(5))
        state.bytesReceived(at: start + .seconds(9))
        #expect(state.expired(at: start + .milliseconds(9_999)) == nil)
        #expect(state.expired(at: start + .seconds(10)) == .headerTimeout)
    }

    @Test func aRequestThenAnIdleSpellThenTheNextHead() {
        let timeouts = HTTPTimeouts(header: .seconds(10), idle: .seconds(60))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var state = HTTPTimeoutState(timeouts: timeouts, connectedAt: start)
        state.bytesReceived(at: start + .seconds(1))
        state.headReceived(at: start + .seconds(1))
        // Reading the body: each read must come within the idle timeout.
        #expect(state.deadline == .init(at: start + .seconds(61), limit: .idleTimeout))
        state.requestEnded(at: start + .seconds(2))
        // Answering (however long, e.g. an event stream): no deadline.
        #expect(state.deadline == nil)
        state.responseEnded(at: start + .seconds(500))
        #expect(state.deadline == .init(at: start + .seconds(560), limit: .idleTimeout))
        #expect(state.expired(at: start + .seconds(560)) == .idleTimeout)
        // The next request starts: its head has the header timeout from its first byte.
        state.bytesReceived(at: start + .seconds(530))
        #expect(state.deadline == .init(at: start + .seconds(540), limit: .headerTimeout))
        state.headReceived(at: start + .seconds(531))
        state.requestEnded(at: start + .seconds(531))
        #expect(state.expired(at: start + .seconds(10_000)) == nil)
    }

    @Test func bytesOfAPipelinedRequestStartItsHeadTimeoutAtOnce() {
        let timeouts = HTTPTimeouts(header: .seconds(10), idle: .seconds(60))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var state = HTTPTimeoutState(timeouts: timeouts, connectedAt: start)
        state.headReceived(at: start)
        state.requestEnded(at: start)
        state.bytesReceived(at: start + .seconds(1))
        state.responseEnded(at: start + .seconds(30))
        #expect(state.deadline == .init(at: start + .seconds(11), limit: .headerTimeout))
    }

    @Test func theFirstHeadStopsTheClockWhileTheUpgradeIsDecided() {
        let timeouts = HTTPTimeouts(header: .seconds(10), idle: .seconds(60))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var state = HTTPTimeoutState(timeouts: timeouts, connectedAt: start)
        state.bytesReceived(at: start + .seconds(1))
        state.headBytesEnded(at: start + .seconds(1))
        #expect(state.deadline == nil)
        // Not upgraded: the pipeline reports that same head, then its end, then the answer's.
        state.headReceived(at: start + .seconds(20), counted: true)
        #expect(state.deadline == .init(at: start + .seconds(80), limit: .idleTimeout))
        state.requestEnded(at: start + .seconds(20))
        state.responseEnded(at: start + .seconds(21))
        #expect(state.deadline == .init(at: start + .seconds(81), limit: .idleTimeout))
    }

    @Test func theDefaultConnectionLimitsAreCountedPerServerAddressAndSession() throws {
        let limits = ServerLimits()
        #expect((limits.maxConnections, limits.maxConnectionsPerAddress, limits.maxConnectionsPerSession) == (4096, 256, 16))
        let limiter = ConnectionLimiter(limits: limits)
        var tickets: [ConnectionLimiter.Ticket] = []
        // 4096 connections from 16 addresses to 4096 sessions: all admitted, one more is not.
        for index in 0..<4096 {
            let session = try #require(SessionID("session-\(index)"))
            guard case .success(let ticket) = limiter.admit(address: "10.0.0.\(index % 16)", session: session) else {
                Issue.record("connection \(index) refused")
                return
            }
            tickets.append(ticket)
        }
        let next = try #require(SessionID("session-next"))
        guard case .failure(let refusal) = limiter.admit(address: "10.0.1.1", session: next) else {
            Issue.record("connection 4097 admitted")
            return
        }
        #expect(refusal.limit == .connections)
        #expect(refusal.message.contains("--max-connections"))
        limiter.release(tickets.removeLast())
        #expect(limiter.wouldRefuse(address: "10.0.1.1", session: next) == nil)
        for ticket in tickets { limiter.release(ticket) }
        #expect(limiter.open(address: "10.0.0.1", session: next).total == 0)
    }

    @Test func zeroMeansUnlimited() throws {
        let limiter = ConnectionLimiter(limits: .unlimited)
        let session = try #require(SessionID("one-session"))
        for _ in 0..<1000 {
            guard case .success = limiter.admit(address: "127.0.0.1", session: session) else {
                Issue.record("refused without limits")
                return
            }
        }
    }
}
