import AsyncHTTPClient
import BedsideCore
import Foundation
import NIOCore
import OpenAPIRuntime
import Synchronization

/// Reads one streaming Chat Completions response into model events, failing a stream that
/// stalls (timed on the model's clock).
final class StreamReader: Sendable {
    private struct Progress {
        /// When data last arrived (or the reader was made), on the clock.
        var lastData: Duration
        var sawData = false
        var sawDone = false
    }

    private let timeouts: OpenAIConfiguration.Timeouts
    private let clock: ElapsedClock
    private let progress: Mutex<Progress>

    init(timeouts: OpenAIConfiguration.Timeouts, clock: ElapsedClock) {
        self.timeouts = timeouts
        self.clock = clock
        self.progress = Mutex(Progress(lastData: clock.elapsed()))
    }

    func read(
        _ body: HTTPClientResponse.Body,
        into receive: @escaping @Sendable (ModelStreamEvent) -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.decode(body, into: receive) }
            group.addTask { try await self.watch() }
            try await group.next()
            group.cancelAll()
        }
    }

    private func decode(
        _ body: HTTPClientResponse.Body,
        into receive: @escaping @Sendable (ModelStreamEvent) -> Void
    ) async throws {
        let bytes = body.map { buffer -> ArraySlice<UInt8> in
            let now = self.clock.elapsed()
            self.progress.withLock {
                $0.lastData = now
                $0.sawData = true
            }
            return ArraySlice(buffer.readableBytesView)
        }
        let done = ArraySlice("[DONE]".utf8)
        let events = bytes.asDecodedServerSentEvents(while: { data in
            guard data != done else {
                self.progress.withLock { $0.sawDone = true }
                return false
            }
            return true
        })
        let chunks = ChatCompletionsChunkReader()
        do {
            for try await event in events {
                guard let data = event.data, !data.isEmpty else { continue }
                let chunkEvents: [ModelStreamEvent]
                do {
                    chunkEvents = try chunks.events(inChunk: data)
                } catch {
                    throw ModelError(code: .error, message: "The model endpoint sent a malformed stream chunk: \(data.prefix(200))")
                }
                for modelEvent in chunkEvents { receive(modelEvent) }
            }
        } catch let error as ModelError {
            throw error
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw cutError
        }
        try Task.checkCancellation()
        guard progress.withLock({ $0.sawDone }) else { throw cutError }
    }

    private var cutError: ModelError {
        ModelError(code: .error, message: "The model endpoint closed the stream before it finished")
    }

    private func watch() async throws {
        while true {
            let (last, sawData) = progress.withLock { ($0.lastData, $0.sawData) }
            let limit = sawData ? timeouts.stalledStream : timeouts.firstToken
            let deadline = last + limit
            let now = clock.elapsed()
            if now >= deadline {
                throw ModelError(
                    code: .error,
                    message: sawData
                        ? "The model stream stalled: no data for \(limit)"
                        : "The model endpoint sent no data within \(limit)"
                )
            }
            // Until the first data arrives, wake at least once per stall period so that a stream
            // which starts and then stalls is caught on time, not only at the first-token deadline.
            let wake = sawData ? deadline : min(deadline, now + timeouts.stalledStream)
            try await clock.sleep(until: wake)
        }
    }
}
