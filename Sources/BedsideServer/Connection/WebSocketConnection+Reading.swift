import BedsideCore
import BedsideProtocol
import Logging
import NIOCore
import NIOWebSocket

/// What a connection keeps of the client's side: the message being reassembled, the frame and
/// resume rates, and the violations.
struct ReadingState {
    var assembler: MessageAssembler
    var meter: ViolationMeter
    var frames: TokenBucket?
    var resumes: TokenBucket?
    /// The connection is closing for violations: further frames are ignored.
    var stopped = false
    /// Frames that arrived while the session was being attached, read once it is.
    var early: [WebSocketFrame] = []

    init(limits: ConnectionLimits) {
        assembler = MessageAssembler(maxMessageBytes: limits.maxMessageBytes)
        meter = ViolationMeter(capacity: limits.violationCapacity)
        frames = TokenBucket(perSecond: limits.maxMessagesPerSecond)
        resumes = TokenBucket(perSecond: limits.maxResumesPerSecond)
    }
}

/// The reading half: reassembles messages within the size limit, decodes and validates them,
/// answers each bad one with its coded error, and hands good ones to the session.
extension WebSocketConnection {
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            guard phase != .closing, phase != .closed else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            pongReceived()
        case .connectionClose:
            peerClosed(frame, context: context)
        case .text, .binary, .continuation:
            if phase == .connecting {
                // Read before the session was attached (autoRead was already under way).
                reading.early.append(frame)
                return
            }
            guard phase == .live || phase == .replaying, !reading.stopped else { return }
            receive(frame)
        default:
            break
        }
    }

    /// Reads the frames that arrived while the connection was opening.
    func readEarlyFrames() {
        let frames = reading.early
        reading.early = []
        for frame in frames where !reading.stopped { receive(frame) }
    }

    private func receive(_ frame: WebSocketFrame) {
        guard let message = reading.assembler.append(frame) else { return }
        if reading.frames?.take() == false {
            metrics.limitReached(.messagesPerSecond)
            violation(
                .rateLimited,
                "Too many frames: at most \(endpoint.limits.maxMessagesPerSecond) per second (--max-messages-per-second); this one was dropped."
            )
            return
        }
        switch message {
        case .tooLarge(let size):
            violation(.frameTooLarge, "The message is \(size) bytes; the limit is \(endpoint.limits.maxMessageBytes) bytes.")
        case .binary:
            violation(.unsupportedFrame, "Binary frames are not supported: send UTF-8 JSON text frames.")
        case .orphan:
            violation(.invalidJSON, "The frame is not valid UTF-8 text.")
        case .text(let bytes):
            handle(bytes)
        }
    }

    private func handle(_ message: ByteBuffer) {
        guard let session, let outbox else { return }
        let frame: ClientFrame
        do {
            frame = try ClientFrame.decode(utf8: message.readableBytesView, session: sessionID, limits: endpoint.limits.frameLimits)
        } catch {
            violation(error.code, error.message)
            return
        }
        switch frame {
        case .message(let content, let clientMessageID):
            endpoint.activity(accepted.credential)
            session.receiveMessage(content: content, clientMessageID: clientMessageID, from: outbox, rateKey: accepted.rateKey)
        case .cancel:
            session.cancelTurn(reason: "cancelled_by_user")
        case .resume(let lastSeq):
            guard reading.resumes?.take() != false else {
                metrics.limitReached(.resumesPerSecond)
                violation(
                    .rateLimited,
                    "Too many resume requests: at most \(endpoint.limits.maxResumesPerSecond) per second (--max-resumes-per-second); this one was dropped."
                )
                return
            }
            outbox.push(.replay(after: lastSeq))
        }
    }

    /// Answers a bad frame; when the connection has now violated too often, it is closed with
    /// 1008 after what is queued for it.
    private func violation(_ code: ErrorCode, _ message: String) {
        guard let outbox else { return }
        outbox.push(OutboundFrame.event(seq: nil, text: endpoint.errorText(code, message, session: sessionID)))
        guard reading.meter.record() else { return }
        reading.stopped = true
        outbox.push(
            OutboundFrame.event(
                seq: nil,
                text: endpoint.errorText(.rateLimited, "Too many invalid or excess frames: closing the connection.", session: sessionID)
            )
        )
        outbox.requestClose(CloseRequest(code: 1008, reason: "too many invalid or excess frames", drainFirst: true))
    }

    // MARK: Replay

    /// Sends `connection`, then the stored events in `(after, deliveredSeq]`, then goes live.
    ///
    /// - Parameters:
    ///   - after: the client's `last_seq`; nil: nothing is replayed.
    ///   - deliveredSeq: the seq up to which events are in the store; what comes after reaches
    ///     the outbox live.
    ///   - latestSeq: the newest seq assigned, which `connection` reports.
    func replay(after: Int64?, deliveredSeq: Int64, latestSeq: Int64) {
        guard let context else { return }
        phase = .replaying
        var from = after
        var gap = false
        if let after, after > latestSeq {
            // The client has seen more than this session holds (another server, or a reset store).
            from = 0
            gap = true
        }
        let connection = ServerEvent(
            sessionID: sessionID,
            seq: nil,
            timestamp: .now(),
            payload: .connection(resumedFrom: gap ? nil : after, latestSeq: latestSeq, serverVersion: endpoint.serverVersion)
        )
        write(text: connection.json)
        if gap {
            let message = "last_seq \(after ?? 0) is beyond this session's newest event \(latestSeq): replaying the whole history."
            write(text: endpoint.errorText(.resumeGap, message, session: sessionID))
        }
        let upTo = max(deliveredSeq, from ?? 0)
        guard let start = from, start < deliveredSeq else {
            replayEnded(upTo: upTo)
            return
        }
        context.flush()
        let (store, id, loop) = (endpoint.store, sessionID, context.eventLoop)
        let bound = NIOLoopBound(self, eventLoop: loop)
        Task {
            var cursor = start
            while cursor < deliveredSeq {
                let page: [StoredEvent]
                do {
                    page = try await store.events(in: id, after: cursor, through: deliveredSeq, limit: 512)
                } catch {
                    loop.execute { bound.value.replayFailed(error) }
                    return
                }
                guard let last = page.last else { break }
                // Each page waits until the socket has taken the last: memory stays one page.
                let written = loop.flatSubmit { bound.value.writeReplayPage(page, on: loop) }
                guard (try? await written.get()) != nil else { return }
                cursor = last.seq
            }
            loop.execute { bound.value.replayEnded(upTo: upTo) }
        }
    }

    private func writeReplayPage(_ page: [StoredEvent], on loop: any EventLoop) -> EventLoopFuture<Void> {
        guard phase == .replaying, let context else { return loop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        var last: EventLoopFuture<Void>?
        for event in page { last = write(text: event.json) }
        context.flush()
        return last ?? loop.makeSucceededVoidFuture()
    }

    private func replayEnded(upTo: Int64) {
        guard phase == .replaying else { return }
        lastSent = max(lastSent, upTo)
        phase = .live
        context?.flush()
        drain()
    }

    private func replayFailed(_ error: any Error) {
        guard phase == .replaying else { return }
        logger.error("Cannot replay events", metadata: ["session.id": "\(sessionID)", "error": "\(error)"])
        startClose(CloseRequest(code: 1011, reason: "session store unavailable", drainFirst: false))
    }
}
