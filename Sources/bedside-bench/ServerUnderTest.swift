import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The Bedside server a benchmark measures: a `bedside` child process the benchmark starts
/// (the default) or a running server reached by URL.
final class ServerUnderTest: @unchecked Sendable {
    let host: String
    let port: Int
    /// The server's process id, when its CPU and memory can be read.
    let pid: Int32?
    private let process: Process?
    let logPath: String?

    private init(host: String, port: Int, pid: Int32?, process: Process?, logPath: String?) {
        self.host = host
        self.port = port
        self.pid = pid
        self.process = process
        self.logPath = logPath
    }

    /// A running server at `ws://host:port`.
    static func remote(url: String, pid: Int32?) throws -> ServerUnderTest {
        guard let parsed = URLComponents(string: url), ["ws", "http"].contains(parsed.scheme ?? ""), let host = parsed.host else {
            throw BenchError("--url must look like ws://127.0.0.1:8000, not \(url)")
        }
        return ServerUnderTest(host: host, port: parsed.port ?? 80, pid: pid, process: nil, logPath: nil)
    }

    /// Starts `binary` on a free loopback port with its own SQLite files in `directory`,
    /// answering with the model at `modelURL`; returns once it accepts connections.
    static func launch(
        binary: String,
        directory: URL,
        modelURL: String,
        extraArguments: [String],
        extraEnvironment: [String],
        wrapper: [String],
        loop: any EventLoop
    ) async throws -> ServerUnderTest {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("no bedside executable at \(binary): build it (swift build -c release) or pass --server-binary")
        }
        let port = try await freePort(loop: loop)
        let log = directory.appendingPathComponent("bedside-\(port).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        let process = Process()
        let command = wrapper + [binary]
        process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/env")
        process.arguments =
            (command[0].hasPrefix("/") ? Array(command.dropFirst()) : command) + [
                "--host", "127.0.0.1", "--port", "\(port)",
                "--database", directory.appendingPathComponent("events.sqlite").path,
                "--fhir-database", directory.appendingPathComponent("fhir.sqlite").path,
                "--seed-patients", "25", "--llm", "openai", "--log-level", "warning",
            ] + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["OPENAI_BASE_URL"] = modelURL
        environment["OPENAI_API_KEY"] = "bench"
        for key in environment.keys where key.hasPrefix("AZURE_OPENAI") { environment[key] = nil }
        for assignment in extraEnvironment {
            let parts = assignment.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw BenchError("--server-env takes NAME=VALUE, not \(assignment)") }
            environment[String(parts[0])] = String(parts[1])
        }
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let server = ServerUnderTest(host: "127.0.0.1", port: port, pid: process.processIdentifier, process: process, logPath: log.path)
        let startup = Duration.seconds(wrapper.isEmpty ? 120 : 900)
        let deadline = ContinuousClock.now + startup
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw BenchError("bedside exited with status \(process.terminationStatus); see \(log.path)")
            }
            if let channel = try? await ClientBootstrap(group: loop).connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return server
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        await server.stop()
        throw BenchError("bedside did not listen on port \(port) within \(startup); see \(log.path)")
    }

    /// The server's CPU and memory now, when it is a process this machine can read.
    func stats() -> ProcessStats? {
        pid.flatMap { ProcessStats.read(pid: $0) }
    }

    /// Stops a server this benchmark started (SIGTERM, then SIGKILL after 10 s).
    func stop() async {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    private static func freePort(loop: any EventLoop) async throws -> Int {
        let channel = try await ServerBootstrap(group: loop).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }
}
