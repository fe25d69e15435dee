import ArgumentParser
import BedsideBenchCore
import BedsideCore
import BedsideProtocol
import BedsideStore
import BedsideTestSupport
import Foundation
import NIOCore
import NIOPosix

/// The replay scenario.
extension BedsideBench {
    private static let replaySession = "bench-replay-session"

    /// Writes `events` events of one session to the server's event store before it starts:
    /// one turn's worth of frames repeated, as the hub would have stored them.
    func seedReplay(directory: URL) async throws {
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite").path)
        guard let session = SessionID(Self.replaySession) else { return }
        var batch: [StoredEvent] = []
        var stamp = Timestamp.now().microseconds - Int64(events) * 1000
        for seq in 1...Int64(events) {
            let turn = "turn-\((seq - 1) / 50)"
            let payload: EventPayload
            switch (seq - 1) % 50 {
            case 0: payload = .user(content: "Find the patients named Smith.", clientMessageID: "m-\(seq)")
            case 49:
                payload = .assistant(
                    AssistantEvent(
                        content: String(repeating: "The patient is stable. ", count: 8),
                        streaming: false,
                        messageID: "msg-\(turn)"
                    )
                )
            default: payload = .assistant(AssistantEvent(content: "stable ", streaming: true, messageID: "msg-\(turn)"))
            }
            stamp += 1000
            let event = ServerEvent(sessionID: session, seq: seq, timestamp: Timestamp(microseconds: stamp), turnID: turn, payload: payload)
            batch.append(event.stored(json: event.json))
            if batch.count == 1000 {
                try await store.append(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await store.append(batch) }
    }

    func replay(server: ServerUnderTest, loop: any EventLoop) async throws -> ScenarioReport {
        var session = Self.replaySession
        var through = Int64(events)
        var notes: [String] = []
        if url != nil {
            // A running server: make the history by running turns in one session.
            let run = Run(loop: loop, host: server.host, port: server.port)
            session = "bench-replay-\(runTag)"
            let driver = Client(run: run, role: .driver, session: session)
            _ = try await run.open([driver]).get()
            run.turnsPerSession = max(1, (events + 49) / 50)
            try await run.chat(timeout: .seconds(Int64(60 + run.turnsPerSession * 10))).get()
            let made = try await loop.submit { run.highestSeq }.get()
            through = made
            notes.append("history made by running turns: \(made) events")
            _ = try await run.closeAll().get()
        }
        var times = Samples()
        var clientCPU = 0.0
        var serverCPU = 0.0
        var foreign = 0
        var wall = 0.0
        for _ in 0..<replays {
            let run = Run(loop: loop, host: server.host, port: server.port)
            run.recordsLatency = false
            let client = Client(run: run, role: .replay, session: session, lastSeq: 0)
            let serverBefore = server.stats()
            let clientBefore = ProcessStats.ownCPUSeconds()
            let micros = try await run.replay(client, through: through, timeout: .seconds(60)).get()
            clientCPU += ProcessStats.ownCPUSeconds() - clientBefore
            if let before = serverBefore, let after = server.stats() { serverCPU += after.cpuSeconds - before.cpuSeconds }
            wall += Double(micros) / 1_000_000
            times.record(micros)
            foreign += try await loop.submit { run.foreign }.get()
            _ = try await run.closeAll().get()
        }
        let client = ClientCPU(seconds: clientCPU, wallSeconds: wall)
        var rows = [Row(metric: "events replayed per reconnect", value: Double(through), unit: "", clientCPU: client.text)]
        rows += percentileRows("replay time (connect → last event)", &times, client: client, checked: ("p50", 100, "≤ 100 ms"))
        if let p50 = times.percentile(50), p50 > 0 {
            rows.append(
                Row(
                    metric: "replay rate at p50",
                    value: Double(through) / (Double(p50) / 1_000_000),
                    unit: "events/s",
                    clientCPU: client.text
                )
            )
        }
        if server.pid != nil {
            rows.append(Row(metric: "server CPU per replay", value: serverCPU / Double(replays) * 1000, unit: "ms", clientCPU: client.text))
        }
        rows.append(Row(metric: "foreign events", value: Double(foreign), unit: "", target: "0", met: foreign == 0, clientCPU: client.text))
        return ScenarioReport(
            scenario: "replay",
            parameters: ["events": "\(events)", "replays": "\(replays)", "server": url ?? "child process"],
            rows: rows,
            latencyByType: nil,
            notes: notes
        )
    }
}
