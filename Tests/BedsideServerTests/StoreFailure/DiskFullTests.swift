import BedsideCore
import BedsideStore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted for one test, so that the event store's filesystem can really fill up.
/// Mounting needs root (CI runs as root); elsewhere the tests that need it are not run.
struct TmpfsMount {
    let directory: URL

    /// Whether this process may mount a filesystem.
    static var available: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount") }

    init(megabytes: Int) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bedside-tmpfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", directory.path])
    }

    func unmount() {
        // Lazily: the store may still hold its files open until the server is released.
        try? Self.run("/bin/umount", ["-l", directory.path])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes a file until the filesystem has no space left; returns it (delete it to free the space).
    func fill() throws -> URL {
        let filler = directory.appendingPathComponent("filler")
        let descriptor = open(filler.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw TestFailure("cannot create \(filler.path)") }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0x2A, count: 64 * 1024)
        var size = chunk.count
        while size > 0 {
            let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, size) }
            if written < 0 {
                guard errno == ENOSPC else { throw TestFailure("writing the filler failed: errno \(errno)") }
                size /= 2  // fill the last partial pages too
            }
        }
        return filler
    }

    /// Bytes free on the filesystem.
    var freeBytes: Int64 {
        var stats = statvfs()
        guard statvfs(directory.path, &stats) == 0 else { return -1 }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}

/// The event store's filesystem fills up mid-turn, for real: SQLite on a tmpfs that a filler
/// file takes up, then frees.
@Suite(.serialized) struct DiskFullTests {
    @Test(.enabled(if: TmpfsMount.available, "mounting a tmpfs needs root"))
    func aFullDiskMidTurnLosesNothingAndTheSessionGoesOnWhenSpaceReturns() async throws {
        let mount = try TmpfsMount(megabytes: 8)
        defer { mount.unmount() }
        let store = try SQLiteEventStore(path: mount.directory.appendingPathComponent("events.sqlite").path)
        let server = try await LiveServer.start(store: store, runner: StreamingRunner())
        let session = newSessionID()
        let id = SessionID(session)!
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "stream", id: "first"))
        var received = try await socket.receive(until: { $0.type == "assistant" })

        let filler = try mount.fill()
        #expect(mount.freeBytes < 8 * 1024)
        try await eventually("/ready reports the store unavailable") { try await server.get("/ready").0 == 503 }
        received += try await socket.receiveUntilSilent(for: .milliseconds(400))
        // Reading still works on a full disk: everything the client was sent is stored.
        try expectAllStored(received, in: try await store.events(in: id, after: 0, through: nil, limit: nil))
        #expect(!received.contains { $0.type == "turn" && $0.status != "started" })

        try await socket.send(Frame.message(session, "are you there?", id: "second"))
        let refusal = try await socket.receive()
        #expect(refusal.code == "store_unavailable")
        #expect(refusal.seq == nil)

        try FileManager.default.removeItem(at: filler)
        try await expectTheSessionGoesOn(session, on: socket, server: server, after: received, resending: "are you there?", id: "second")
        try await socket.close()
        try await server.stop()
    }
}
