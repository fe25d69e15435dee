import BedsideProtocol

/// Limits of one connection; see ``ServerConfiguration`` for their flags and defaults.
struct ConnectionLimits: Sendable {
    var maxMessageBytes: Int
    var frameLimits: ClientFrameLimits
    var outboxCapacity: Int
    var violationCapacity: Int
    var closeTimeout: Duration
    /// Frames of any kind per second (burst as many); 0: unlimited.
    var maxMessagesPerSecond = 0
    /// `resume` frames per second (burst as many); 0: unlimited.
    var maxResumesPerSecond = 0
}
