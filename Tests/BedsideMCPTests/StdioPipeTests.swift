import Foundation
import Logging
import Testing

@testable import BedsideMCP

/// A stdio MCP server that exits must not leave its pipes open in Bedside: the chaos run
/// (scripts/chaos.sh) found two descriptors left per crash of the server, for as long as
/// Bedside ran, because the threads that read the server's stdout and stderr to their end
/// never closed them.
@Suite("A stdio MCP server's pipes")
struct StdioPipeTests {
    /// The targets of this process's open descriptors (`pipe:[inode]`, paths, sockets).
    static func openDescriptorTargets() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
    }

    @Test("are closed in Bedside once the server has exited")
    func pipesClosedAfterExit() async throws {
        // The server names its own stdout and stderr pipes (by their inodes) on stdout, then exits.
        let transport = StdioProcessTransport(
            command: "sh",
            arguments: ["-c", "readlink /proc/self/fd/1; readlink /proc/self/fd/2"],
            environment: [:],
            workingDirectory: nil,
            logger: Logger(label: "stdio-pipe-test")
        )
        try await transport.connect()
        var pipes: [String] = []
        do {
            for try await line in await transport.receive() {
                pipes.append(String(decoding: line, as: UTF8.self))
            }
        } catch {
            // The stream ends with the process's exit status.
        }
        #expect(pipes.count == 2)
        #expect(pipes.allSatisfy { $0.hasPrefix("pipe:[") })
        _ = await transport.lifetime.ended()
        // The reading threads close their ends at end of stream; a loaded machine may take a while.
        let deadline = ContinuousClock.now + .seconds(60)
        var stillOpen = pipes.filter(Self.openDescriptorTargets().contains)
        while !stillOpen.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            stillOpen = pipes.filter(Self.openDescriptorTargets().contains)
        }
        #expect(stillOpen.isEmpty, "still open in this process: \(stillOpen)")
        await transport.disconnect()
    }
}
