import BedsideBenchCore
import Testing

@Suite struct FloorComparisonTests {
    @Test func formatsRatiosByMagnitude() {
        #expect(FloorComparison.format(ratio: 1.4249) == "×1.42")
        #expect(FloorComparison.format(ratio: 1.4251) == "×1.43")
        #expect(FloorComparison.format(ratio: 0.5) == "×0.50")
        #expect(FloorComparison.format(ratio: 9.996) == "×10.0")
        #expect(FloorComparison.format(ratio: 14.25) == "×14.3")
        #expect(FloorComparison.format(ratio: 99.96) == "×100")
        #expect(FloorComparison.format(ratio: 1234.4) == "×1234")
        #expect(FloorComparison.format(ratio: nil) == "n/a")
        #expect(FloorComparison.format(ratio: .infinity) == "n/a")
    }

    @Test func formatsFigures() {
        #expect(FloorComparison.format(figure: 2000) == "2000")
        #expect(FloorComparison.format(figure: 4.504) == "4.50")
        #expect(FloorComparison.format(figure: -0.125) == "-0.13")
        #expect(FloorComparison.format(figure: 284.66) == "284.7")
        #expect(FloorComparison.format(figure: -472.84) == "-472.8")
        #expect(FloorComparison.format(figure: 0.004) == "0.00")
        #expect(FloorComparison.format(figure: .nan) == "n/a")
    }

    @Test func ratioNeedsAPositiveFloorAndANonNegativeFigure() {
        #expect(FloorComparison.ratio(4.5, 1.5) == 3)
        #expect(FloorComparison.ratio(0, 2) == 0)
        #expect(FloorComparison.ratio(4.5, 0) == nil)
        #expect(FloorComparison.ratio(4.5, -1) == nil)
        #expect(FloorComparison.ratio(-3, 2) == nil)
        #expect(FloorComparison.ratio(nil, 2) == nil)
        #expect(FloorComparison.ratio(1, nil) == nil)
    }

    @Test func mergeMatchesByMetricKeepsBedsideOrderAndAppendsFloorOnlyRows() {
        let bedside = [
            Row(metric: "throughput", value: 140, unit: "turns/s", clientCPU: "b1", compared: true),
            Row(metric: "server CPU per turn", value: 3, unit: "ms", target: "≤ 2 ms", met: false, clientCPU: "b2", compared: true),
            Row(metric: "foreign events", value: 0, unit: "", target: "0", met: true, clientCPU: "b3"),
            Row(metric: "at 20 sessions", value: 4, unit: "ms", clientCPU: "b4", compared: true),
        ]
        let floor = [
            Row(metric: "foreign events", value: 0, unit: "", clientCPU: "f3"),
            Row(metric: "server CPU per turn", value: 1.5, unit: "ms", clientCPU: "f2"),
            Row(metric: "throughput", value: 200, unit: "turns/s", clientCPU: "f1"),
            Row(metric: "at 50 sessions", value: 6, unit: "ms", clientCPU: "f5", compared: true),
        ]
        let merged = FloorComparison.merge(bedside, floor: floor)
        #expect(merged.map(\.metric) == ["throughput", "server CPU per turn", "foreign events", "at 20 sessions", "at 50 sessions"])
        #expect(merged[0].floor == 200)
        #expect(merged[0].ratio == 0.7)
        #expect(merged[0].floorClientCPU == "f1")
        #expect(merged[1].ratio == 2)
        #expect(merged[1].met == false)
        // Not a compared figure: the floor's value beside it, no ratio.
        #expect(merged[2].floor == 0)
        #expect(merged[2].ratio == nil)
        #expect(merged[2].met == true)
        // Bedside only.
        #expect(merged[3].floor == nil)
        #expect(merged[3].ratio == nil)
        // Floor only.
        #expect(merged[4].value == nil)
        #expect(merged[4].floor == 6)
        #expect(merged[4].floorClientCPU == "f5")
    }

    @Test func aRatioLimitDecidesMetTogetherWithTheFiguresOwnTarget() {
        func merged(_ value: Double, floor: Double, met: Bool?) -> Bool? {
            let row = Row(metric: "m", value: value, unit: "ms", met: met, clientCPU: "", compared: true, ratioLimit: 1.5)
            return FloorComparison.merge([row], floor: [Row(metric: "m", value: floor, unit: "ms", clientCPU: "")])[0].met
        }
        #expect(merged(1.4, floor: 1, met: true) == true)
        #expect(merged(1.4, floor: 1, met: nil) == true)
        #expect(merged(1.6, floor: 1, met: true) == false)
        #expect(merged(1.4, floor: 1, met: false) == false)
        // No usable ratio: the limit cannot be shown to hold.
        #expect(merged(1.4, floor: 0, met: true) == false)
        // Without the floor, the row keeps its own verdict.
        let alone = Row(metric: "m", value: 1.4, unit: "ms", met: true, clientCPU: "", compared: true, ratioLimit: 1.5)
        #expect(FloorComparison.merge([alone], floor: [])[0].met == true)
    }
}

@Suite struct CapacitySearchTests {
    /// Runs the search against a server that holds up to `capacity` sessions.
    func search(capacity: Int, ladder: [Int] = CapacitySearch.defaultLadder) -> CapacitySearch {
        var search = CapacitySearch(ladder: ladder)
        var runs = 0
        while let size = search.next {
            search.record(sessions: size, passed: size <= capacity)
            runs += 1
            if runs > 50 { break }
        }
        return search
    }

    @Test func climbsTheLadderThenHalvesTheGapToTheResolution() throws {
        let found = search(capacity: 187)
        #expect(found.steps.prefix(6).map(\.sessions) == [20, 50, 100, 150, 200, 175])
        let passing = try #require(found.largestPassing)
        let failing = try #require(found.smallestFailing)
        #expect(passing <= 187 && failing > 187)
        #expect(failing - passing <= max(2, passing / 10))
        #expect(found.next == nil)
        #expect(found.summary() == "\(passing) sessions (\(failing) did not)")
    }

    @Test func allPassingEndsAtTheTopOfTheLadder() {
        let found = search(capacity: 10_000, ladder: [20, 50, 100])
        #expect(found.steps.map(\.sessions) == [20, 50, 100])
        #expect(found.largestPassing == 100)
        #expect(found.summary() == "≥ 100 sessions (the largest tried)")
    }

    @Test func failingTheFirstStepSearchesBelowIt() {
        let found = search(capacity: 0, ladder: [20, 50])
        #expect(found.steps.map(\.sessions) == [20, 10, 5, 2])
        #expect(found.largestPassing == nil)
        #expect(found.summary() == "< 2 sessions (2 did not)")
    }

    @Test func aPassAboveAFailureDoesNotMoveTheBounds() {
        var search = CapacitySearch(ladder: [20, 50, 100])
        search.record(sessions: 20, passed: true)
        search.record(sessions: 50, passed: false)
        search.record(sessions: 100, passed: true)
        #expect(search.largestPassing == 20)
        #expect(search.smallestFailing == 50)
        #expect(search.next == 35)
    }

    @Test func saysWhenTheTimeRanOut() {
        var search = CapacitySearch(ladder: [20, 50, 100])
        #expect(search.summary(finished: false) == "not measured (the time ran out before the first run)")
        search.record(sessions: 20, passed: true)
        #expect(search.summary(finished: false) == "≥ 20 sessions (the time ran out before 50 was tried)")
        search.record(sessions: 50, passed: false)
        #expect(search.summary(finished: false) == "≥ 20 sessions (50 did not); the time ran out before the gap closed")
    }

    @Test func countsOneSessionInTheSingular() {
        var search = CapacitySearch(ladder: [1, 2])
        search.record(sessions: 1, passed: true)
        search.record(sessions: 2, passed: false)
        #expect(search.summary() == "1 session (2 did not)")
        #expect(CapacitySearch.sessions(20) == "20 sessions")
    }

    @Test func ladderIsSortedAndDeduplicated() {
        let search = CapacitySearch(ladder: [50, 20, 50, 0, -3])
        #expect(search.ladder == [20, 50])
        #expect(search.next == 20)
    }
}
