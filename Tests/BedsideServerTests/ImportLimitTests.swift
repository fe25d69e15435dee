import BedsideCore
import BedsideFHIR
import BedsideServer
import Foundation
import Testing

@testable import bedside

#if canImport(Glibc)
import Glibc
#endif

/// `POST /patient` reads and parses at most `--max-concurrent-imports` bodies at once: 32 MiB
/// imports used to be parsed whole, as many as clients sent.
@Suite struct ImportLimitTests {
    /// An import whose body comes slowly, in chunks over a real socket: it holds one of the
    /// server's import places until ``finish()`` sends the rest.
    final class SlowImport: @unchecked Sendable {
        let fd: Int32
        let id: String

        init(port: Int, id: String) throws {
            self.id = id
            fd = try HTTPGet.connectedSocket(port: port)
            let head =
                "POST /patient HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/fhir+json\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            try HTTPGet.sendAll(fd, Array(head.utf8) + Self.chunk(#"{"resourceType":"Patient","#))
        }

        deinit { close(fd) }

        static func chunk(_ text: String) -> [UInt8] {
            Array("\(String(text.utf8.count, radix: 16))\r\n\(text)\r\n".utf8)
        }

        /// Whether the server has answered (or closed) already: it refused the import.
        var answered: Bool {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            return poll(&descriptor, 1, 0) > 0
        }

        /// Sends the rest of the body and reads the answer, on a thread of its own.
        func finish() async throws -> (status: Int, text: String) {
            let fd = fd
            let rest = Self.chunk(#""id":"\#(id)"}"#) + Array("0\r\n\r\n".utf8)
            return try await withCheckedThrowingContinuation { continuation in
                Thread {
                    continuation.resume(
                        with: Result {
                            try HTTPGet.sendAll(fd, rest)
                            var timeout = timeval(tv_sec: 30, tv_usec: 0)
                            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                            var response: [UInt8] = []
                            var buffer = [UInt8](repeating: 0, count: 16384)
                            while true {
                                let count = read(fd, &buffer, buffer.count)
                                if count <= 0 { break }
                                response.append(contentsOf: buffer[0..<count])
                            }
                            let text = String(decoding: response, as: UTF8.self)
                            let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
                            return (status, text)
                        }
                    )
                }
                .start()
            }
        }
    }

    static func start(_ configure: @escaping (inout ServerConfiguration) -> Void = { _ in }) async throws -> (LiveServer, FHIRStore) {
        let fhir = try FHIRStore.inMemory()
        let server = try await LiveServer.start(patients: FHIRPatientRecords(store: fhir, maxImportBytes: 1 << 20), configure: configure)
        return (server, fhir)
    }

    /// A probe that takes an import place only for a moment: not JSON, so 400 when admitted.
    static func probe(_ server: LiveServer) async throws -> HTTPResponseText {
        try await server.post("/patient", body: Data("{".utf8), headers: ["Content-Type": "application/fhir+json"])
    }

    /// Opens `count` slow imports and returns once the server holds all of them (a probe is
    /// refused); a slow import that arrived while a probe held a place was refused, and is sent again.
    static func hold(_ count: Int, on server: LiveServer) async throws -> (holders: [SlowImport], refusal: HTTPResponseText) {
        var holders = try (0..<count).map { try SlowImport(port: server.port, id: "slow-\($0)") }
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let answer = try await probe(server)
            if answer.status == 429 { return (holders, answer) }
            #expect(answer.status == 400, "\(answer.body)")
            for index in holders.indices where holders[index].answered {
                holders[index] = try SlowImport(port: server.port, id: "slow-\(index)")
            }
            guard ContinuousClock.now < deadline else { throw TestFailure("\(count) slow imports never filled the import places") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func refusals(_ server: LiveServer) async throws -> Double {
        let (_, text) = try await server.get("/metrics")
        return try PrometheusText(text).samples.first {
            $0.name == "bedside_limit_refusals_total" && $0.labels["limit"] == "concurrent_imports"
        }?.value ?? 0
    }

    /// nil: the default (2); else the configured `--max-concurrent-imports`.
    @Test(arguments: [nil, 1, 3] as [Int?])
    func oneImportBeyondTheLimitIsAnswered429(_ configured: Int?) async throws {
        let (server, fhir) = try await Self.start { if let configured { $0.limits.maxConcurrentImports = configured } }
        let limit = configured ?? 2
        let (holders, refusal) = try await Self.hold(limit, on: server)
        #expect(refusal.status == 429)
        #expect(refusal.headers["retry-after"] == "1")
        let outcome = try JSONValue.parse(refusal.body)
        #expect(outcome["resourceType"]?.stringValue == "OperationOutcome")
        guard case .array(let issues)? = outcome["issue"], let issue = issues.first else { throw TestFailure("no issue: \(refusal.body)") }
        #expect(issue["code"]?.stringValue == "throttled")
        #expect(
            issue["diagnostics"]?.stringValue
                == "This server imports at most \(limit) patients at once (--max-concurrent-imports), and that many are under way: retry in a moment."
        )
        let refused = try await Self.refusals(server)
        #expect(refused >= 1)
        #expect(try await Self.probe(server).status == 429)
        #expect(try await Self.refusals(server) == refused + 1)

        // The held imports complete, and their places are free again.
        for holder in holders {
            let answer = try await holder.finish()
            #expect(answer.status == 201, "\(answer.text)")
        }
        #expect(try await fhir.patientCount() == limit)
        #expect(try await Self.probe(server).status == 400)
        try await server.stop()
    }

    @Test func zeroMeansUnlimited() async throws {
        let (server, fhir) = try await Self.start { $0.limits.maxConcurrentImports = 0 }
        let holders = try (0..<4).map { try SlowImport(port: server.port, id: "slow-\($0)") }
        for _ in 0..<3 { #expect(try await Self.probe(server).status == 400) }
        #expect(holders.allSatisfy { !$0.answered })
        for holder in holders {
            #expect(try await holder.finish().status == 201)
        }
        #expect(try await fhir.patientCount() == 4)
        #expect(try await Self.refusals(server) == 0)
        try await server.stop()
    }
}
