import BedsideBenchCore
import Foundation
import NIOCore

/// The capacity scenario: the largest session count at which turn p50 stays within the
/// model's own time + 30 ms, searched for on Bedside and then on the floor.
extension BedsideBench {
    /// What one size of the search measured.
    struct CapacityStep {
        var sessions: Int
        var passed: Bool
        var overModelMs: Double?
        var throughput: Double
        var serverCPUPerTurn: Double?
        var client: ClientCPU
        /// Why the step counts as failed although its p50 was within the limit, if it does.
        var problem: String?
    }

    /// The outcome of one server's search.
    struct CapacityOutcome {
        var search: CapacitySearch
        var steps: [Int: CapacityStep]
        var finished: Bool
    }

    static let capacityMarginMs = 30.0

    func capacity(directory: URL, modelURL: String, loop: any EventLoop, model: FakeModel) async throws -> ScenarioReport {
        let bedside = try await withServer(floor: false, directory: directory, modelURL: modelURL, loop: loop) {
            try await searchCapacity(server: $0, loop: loop, model: model, label: "Bedside")
        }
        var floorOutcome: CapacityOutcome?
        if runsFloor {
            floorOutcome = try await withServer(floor: true, directory: directory, modelURL: modelURL, loop: loop) {
                try await searchCapacity(server: $0, loop: loop, model: model, label: "floor")
            }
        }
        let sizes = Set(bedside.steps.keys).union(floorOutcome.map { Array($0.steps.keys) } ?? []).sorted()
        var rows = capacityRows(bedside, sizes: sizes)
        var notes = ["Bedside's capacity: " + bedside.search.summary(finished: bedside.finished)]
        for (size, step) in bedside.steps.sorted(by: { $0.key < $1.key }) {
            if let problem = step.problem { notes.append("Bedside at \(CapacitySearch.sessions(size)): \(problem)") }
        }
        if let floorOutcome {
            rows = FloorComparison.merge(rows, floor: capacityRows(floorOutcome, sizes: floorOutcome.steps.keys.sorted()))
            notes.append("the floor's capacity: " + floorOutcome.search.summary(finished: floorOutcome.finished))
            for (size, step) in floorOutcome.steps.sorted(by: { $0.key < $1.key }) {
                if let problem = step.problem { notes.append("floor at \(CapacitySearch.sessions(size)): \(problem)") }
            }
        }
        notes.append(
            "each step runs its sessions' turns at once, on a server that has run the steps before it (and a warm-up of one turn per "
                + "session of the first step); a step passes when every turn "
                + "completed and turn p50 ≤ the model's own time + \(Int(Self.capacityMarginMs)) ms"
        )
        var report = ScenarioReport(
            scenario: "capacity",
            parameters: [
                "steps": capacityLadder.map(String.init).joined(separator: ","), "turns": "\(capacityTurns)", "tokens": "\(tokens)",
                "token_interval_ms": "\(tokenIntervalMs)", "seconds_per_server": "\(capacitySeconds)", "server": url ?? "child process",
            ],
            rows: rows,
            latencyByType: nil,
            notes: notes
        )
        report.floorRan = floorOutcome != nil
        return report
    }

    /// Climbs the ladder on `server`, then halves the gap, within `--capacity-seconds`.
    func searchCapacity(server: ServerUnderTest, loop: any EventLoop, model: FakeModel, label: String) async throws -> CapacityOutcome {
        var search = CapacitySearch(ladder: capacityLadder)
        var steps: [Int: CapacityStep] = [:]
        let deadline = ContinuousClock.now + .seconds(capacitySeconds)
        let modelMs = Double(model.ownTime.milliseconds)
        var finished = true
        // One turn per session of the first size first, so that no step pays for the
        // server's first connections to the model.
        if let first = search.next {
            let warmUp = try await chatPhase(server: server, loop: loop, label: "capwarm", sessions: first, turns: 1)
            _ = try await warmUp.run.closeAll().get()
        }
        while let size = search.next {
            guard ContinuousClock.now < deadline else {
                finished = false
                break
            }
            let step: CapacityStep
            do {
                let phase = try await chatPhase(server: server, loop: loop, label: "cap\(size)", sessions: size, turns: capacityTurns)
                _ = try await phase.run.closeAll().get()
                let turnCount = phase.run.turnsCompleted + phase.run.turnsFailed
                let over = phase.run.turnTimes.percentile(50).map { Double($0) / 1000 - modelMs }
                let complete = phase.run.turnsCompleted == size * capacityTurns
                step = CapacityStep(
                    sessions: size,
                    passed: complete && (over.map { $0 <= Self.capacityMarginMs } ?? false),
                    overModelMs: over,
                    throughput: Double(turnCount) / phase.wall,
                    serverCPUPerTurn: phase.serverCPU.map { $0 / Double(max(turnCount, 1)) * 1000 },
                    client: phase.client,
                    problem: complete ? nil : "\(phase.run.turnsCompleted) of \(size * capacityTurns) turns completed"
                )
            } catch {
                step = CapacityStep(
                    sessions: size,
                    passed: false,
                    throughput: 0,
                    client: ClientCPU(seconds: 0, wallSeconds: 0),
                    problem: "\(error)"
                )
            }
            search.record(sessions: size, passed: step.passed)
            steps[size] = step
            let over = step.overModelMs.map { FloorComparison.format(figure: $0) + " ms" } ?? "n/a"
            print(
                "capacity, \(label): \(CapacitySearch.sessions(size)): turn p50 over the model \(over): \(step.passed ? "within" : "over") the limit"
            )
        }
        return CapacityOutcome(search: search, steps: steps, finished: finished)
    }

    /// The capacity row and, for each size in `sizes`, its figures (empty where this server did not run it).
    func capacityRows(_ outcome: CapacityOutcome, sizes: [Int]) -> [Row] {
        let total = outcome.steps.values.reduce(ClientCPU(seconds: 0, wallSeconds: 0)) {
            ClientCPU(seconds: $0.seconds + $1.client.seconds, wallSeconds: $0.wallSeconds + $1.client.wallSeconds)
        }
        let cpu = total.text + " in all"
        var rows = [
            Row(
                metric: "capacity (turn p50 ≤ model + \(Int(Self.capacityMarginMs)) ms)",
                value: Double(outcome.search.largestPassing ?? 0),
                unit: "sessions",
                clientCPU: cpu,
                compared: true
            )
        ]
        for size in sizes {
            let step = outcome.steps[size]
            let cpu = step?.client.text ?? ""
            rows += [
                Row(
                    metric: "at \(CapacitySearch.sessions(size)): turn p50 over the model's time",
                    value: step?.overModelMs,
                    unit: "ms",
                    clientCPU: cpu,
                    compared: true
                ),
                Row(
                    metric: "at \(CapacitySearch.sessions(size)): throughput",
                    value: step?.throughput,
                    unit: "turns/s",
                    clientCPU: cpu,
                    compared: true
                ),
                Row(
                    metric: "at \(CapacitySearch.sessions(size)): server CPU per turn",
                    value: step?.serverCPUPerTurn,
                    unit: "ms",
                    clientCPU: cpu,
                    compared: true
                ),
            ]
        }
        return rows
    }
}
