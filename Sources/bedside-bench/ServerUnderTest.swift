import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A server a benchmark measures: a `bedside` child process the benchmark starts (the
/// default), a running Bedside reached by URL, or the floor server (`bedside-bench floor-server`).
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
        var environment = ProcessInfo.processInfo.environment
        environment["OPENAI_BASE_URL"] = modelURL
        environment["OPENAI_API_KEY"] = "bench"
        for key in environment.keys where key.hasPrefix("AZURE_OPENAI") { environment[key] = nil }
        for assignment in extraEnvironment {
            let parts = assignment.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw BenchError("--server-env takes NAME=VALUE, not \(assignment)") }
            environment[String(parts[0])] = String(parts[1])
        }
        // A wrapper (valgrind, perf) may take long to start the server.
        return try await start(
            name: "bedside",
            command: wrapper + [binary],
            directory: directory,
            environment: environment,
            startup: .seconds(wrapper.isEmpty ? 120 : 900),
            loop: loop
        ) {
            [
                "--host", "127.0.0.1", "--port", "\($0)",
                "--database", directory.appendingPathComponent("events.sqlite").path,
                "--fhir-database", directory.appendingPathComponent("fhir.sqlite").path,
                "--seed-patients", "25", "--llm", "openai", "--log-level", "warning",
            ] + extraArguments
        }
    }

    /// Starts the floor server (`bedside-bench floor-server`, this same executable) on a free
    /// loopback port, answering with the model at `modelURL`; returns once it accepts connections.
    static func launchFloor(
        directory: URL,
        modelURL: String,
        outboxCapacity: Int,
        loop: any EventLoop
    ) async throws -> ServerUnderTest {
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var environment = ProcessInfo.processInfo.environment
        environment["OPENAI_BASE_URL"] = nil
        return try await start(
            name: "floor",
            command: [binary, "floor-server"],
            directory: directory,
            environment: environment,
            loop: loop
        ) {
            ["--host", "127.0.0.1", "--port", "\($0)", "--model-url", modelURL, "--outbox-capacity", "\(outboxCapacity)"]
        }
    }

    /// Runs `command` plus `arguments(port)` on a free loopback port, its output in a log file
    /// in `directory`; returns once the port accepts connections (within `startup`).
    private static func start(
        name: String,
        command: [String],
        directory: URL,
        environment: [String: String],
        startup: Duration = .seconds(120),
        loop: any EventLoop,
        arguments: (Int) -> [String]
    ) async throws -> ServerUnderTest {
        let port = try await freePort(loop: loop)
        let log = directory.appendingPathComponent("\(name)-\(port).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        let process = Process()
        let absolute = command[0].hasPrefix("/")
        process.executableURL = URL(fileURLWithPath: absolute ? command[0] : "/usr/bin/env")
        process.arguments = (absolute ? Array(command.dropFirst()) : command) + arguments(port)
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let server = ServerUnderTest(host: "127.0.0.1", port: port, pid: process.processIdentifier, process: process, logPath: log.path)
        let deadline = ContinuousClock.now + startup
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw BenchError("\(name) exited with status \(process.terminationStatus); see \(log.path)")
            }
            if let channel = try? await ClientBootstrap(group: loop).connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return server
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        await server.stop()
        throw BenchError("\(name) did not listen on port \(port) within \(startup); see \(log.path)")
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
