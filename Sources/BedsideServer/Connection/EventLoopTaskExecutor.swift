import NIOCore
import Synchronization

/// A task executor that runs jobs on one event loop.
///
/// A turn runs with its connection's event loop as its preferred executor: the events it emits
/// are pushed to outboxes that the same loop drains, and its model requests' streams are read on
/// whatever loop their connection has, so a turn whose connections share its loop moves from
/// the model's bytes to the socket's without waking another thread.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

/// The ``EventLoopTaskExecutor`` of each event loop, made on first use.
final class EventLoopTaskExecutors: Sendable {
    private let executors = Mutex<[ObjectIdentifier: EventLoopTaskExecutor]>([:])

    func executor(for loop: any EventLoop) -> EventLoopTaskExecutor {
        executors.withLock { executors in
            if let known = executors[ObjectIdentifier(loop)] { return known }
            let made = EventLoopTaskExecutor(loop)
            executors[ObjectIdentifier(loop)] = made
            return made
        }
    }
}
