import BedsideCore
import Foundation
import Logging
import MCP
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs an MCP server as a child process and speaks newline-delimited JSON-RPC on its stdin
/// and stdout; its stderr goes to the log.
///
/// The process runs in its own process group, so that ``disconnect()`` ends whatever it
/// started too. When it exits the receive stream fails and
/// ``lifetime`` ends with its exit status.
actor StdioProcessTransport: Transport, LifetimeTransport {
    nonisolated let logger: Logger
    nonisolated let lifetime = TransportLifetime()
    private let command: String
    private let arguments: [String]
    private let environment: [String: String]
    private let workingDirectory: String?
    private let clock: ElapsedClock
    /// Ends when the process has exited (``lifetime`` may end earlier, for other reasons).
    private let exited = TransportLifetime()
    private var process: Process?
    private var stdin: FileHandle?
    private let incoming: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation

    init(
        command: String,
        arguments: [String],
        environment: [String: String],
        workingDirectory: String?,
        clock: ElapsedClock = ElapsedClock(ContinuousClock()),
        logger: Logger
    ) {
        self.command = command
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.clock = clock
        self.logger = logger
        (incoming, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {
        // A write to a server that just died must fail with EPIPE, not kill Bedside.
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        // `env` finds the command on PATH; Foundation starts it in a process group of its own.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, configured in configured }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let lifetime = self.lifetime
        let exited = self.exited
        let continuation = self.continuation
        let command = self.command
        // The stream ends once the process has exited and its stdout is read to the end, in
        // whichever order the two happen: what it wrote last is not lost.
        let ending = OutputEnding()
        process.terminationHandler = { finished in
            let reason = "the process \(command) exited with status \(finished.terminationStatus)"
            exited.end(reason)
            lifetime.end(reason)
            if let reason = ending.exited(reason) { continuation.finish(throwing: TransportError(description: reason)) }
        }
        do {
            try process.run()
        } catch {
            let reason = "cannot start \(command): \(error)"
            lifetime.end(reason)
            throw TransportError(description: reason)
        }
        self.process = process
        self.stdin = input.fileHandleForWriting
        Self.readLines(from: output.fileHandleForReading) { line in
            continuation.yield(line)
        } atEnd: {
            if let reason = ending.drained() { continuation.finish(throwing: TransportError(description: reason)) }
        }
        let logger = self.logger
        Self.readLines(from: errors.fileHandleForReading) { line in
            logger.info("MCP server stderr", metadata: ["mcp.stderr": "\(String(decoding: line, as: UTF8.self))"])
        }
    }

    func disconnect() async {
        if let process, process.isRunning {
            let pid = process.processIdentifier
            kill(-pid, SIGTERM)
            kill(pid, SIGTERM)
            // A second to exit, then it is killed.
            let (exited, clock) = (self.exited, self.clock)
            let racers: [@Sendable () async -> Void] = [
                { _ = await exited.ended() },
                { try? await clock.sleep(for: .seconds(1)) },
            ]
            await race(racers)
            if process.isRunning {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
        }
        try? stdin?.close()
        stdin = nil
        lifetime.end("disconnected")
        continuation.finish()
    }

    func send(_ data: Data) async throws {
        guard let stdin, lifetime.endReason == nil else {
            throw TransportError(description: lifetime.endReason ?? "the server process is not running")
        }
        var line = data
        line.append(0x0A)
        do {
            try stdin.write(contentsOf: line)
        } catch {
            throw TransportError(description: "cannot write to \(command): \(error)")
        }
    }

    func receive() -> AsyncThrowingStream<Data, any Error> {
        incoming
    }

    /// Reads `handle` to its end on a thread of its own (reads block), calling `line` for each
    /// non-empty line.
    private static func readLines(
        from handle: FileHandle,
        line: @escaping @Sendable (Data) -> Void,
        atEnd: @escaping @Sendable () -> Void = {}
    ) {
        let thread = Thread {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let text = buffer[buffer.startIndex..<newline]
                    buffer = Data(buffer[buffer.index(after: newline)...])
                    if !text.isEmpty { line(Data(text)) }
                }
            }
            if !buffer.isEmpty { line(buffer) }
            // The read end is this thread's alone: close it at the end of the stream, or every
            // restart of a server that died leaves its stdout and stderr pipes open in Bedside.
            try? handle.close()
            atEnd()
        }
        thread.start()
    }
}

/// Whether a server process has exited and its stdout has been read to the end; the stream
/// of its messages finishes when both have happened.
private final class OutputEnding: Sendable {
    private let state = Mutex<(exitReason: String?, drained: Bool)>((nil, false))

    /// Notes the exit; returns its reason when stdout was already drained.
    func exited(_ reason: String) -> String? {
        state.withLock { state in
            state.exitReason = reason
            return state.drained ? reason : nil
        }
    }

    /// Notes the end of stdout; returns the exit's reason when the process already exited.
    func drained() -> String? {
        state.withLock { state in
            state.drained = true
            return state.exitReason
        }
    }
}
