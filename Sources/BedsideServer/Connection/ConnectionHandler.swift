import BedsideCore
import BedsideProtocol
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// Serves one WebSocket connection of a session: a reader that validates frames and hands
/// them to the session, and a writer that sends `connection`, replays missed events, then
/// drains the connection's outbox.
///
/// The two run as sibling tasks with a third that watches for an aborting close (outbox
/// overflow). Whichever ends first ends the connection. Nothing here can crash the server:
/// every bad frame becomes a coded `error`, every failure a close code.
struct ConnectionHandler: Sendable {
    let hub: SessionHub
    let limits: ConnectionLimits
    /// Closes the connection (4401) when its credential ends; nil without authentication.
    var watch: CredentialWatch?
    /// Called when the client sends a message: activity that keeps a sign-in session from idling out.
    var activity: @Sendable (Credential) -> Void = { _ in }
    /// Admits connections within the total, per-address and per-session limits; nil: no limits.
    var connections: ConnectionLimiter?

    private enum Exit: Sendable {
        case clientGone
        case close(CloseRequest)
        /// The reader stopped after asking for a close; the writer drains and closes.
        case readerStopped
    }

    func serve(
        session id: SessionID,
        lastSeq: Int64?,
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        credential: Credential = .local,
        address: String = "unknown",
        rateKey: String? = nil,
        logger: Logger
    ) async {
        var ticket: ConnectionLimiter.Ticket?
        if let connections {
            switch connections.admit(address: address, session: id) {
            case .success(let admitted):
                ticket = admitted
            case .failure(let refusal):
                await refuse(refusal, session: id, outbound: outbound, logger: logger)
                return
            }
        }
        defer { if let ticket { connections?.release(ticket) } }
        let outbox = Outbox(capacity: limits.outboxCapacity)
        let watched = watch?.register(credential) { reason in
            outbox.requestClose(CloseRequest(code: 4401, reason: reason.rawValue, drainFirst: true))
        }
        defer { watch?.unregister(watched) }
        let attached: (Session, deliveredSeq: Int64, latestSeq: Int64)?
        do {
            attached = try await hub.connect(id, outbox: outbox)
        } catch {
            logger.error("Cannot load session", metadata: ["session.id": "\(id)", "error": "\(error)"])
            let message = "The session store is unavailable: try again shortly."
            try? await outbound.write(.text(hub.connectionErrorText(.internal, message, session: id)))
            try? await outbound.close(.unexpectedServerError, reason: "session store unavailable")
            return
        }
        guard let (session, deliveredSeq, latestSeq) = attached else {
            try? await outbound.close(.goingAway, reason: "server shutting down")
            return
        }
        defer { hub.disconnected(from: session, outbox: outbox) }

        let exit: Exit = await withTaskGroup(of: Exit.self) { group in
            group.addTask {
                let writer = ConnectionWriter(hub: hub, session: session, outbound: outbound)
                do {
                    return .close(
                        try await writer.run(outbox: outbox, lastSeq: lastSeq, deliveredSeq: deliveredSeq, latestSeq: latestSeq)
                    )
                } catch let failure as ReplayUnavailable {
                    logger.error("Cannot replay events", metadata: ["session.id": "\(id)", "error": "\(failure.underlying)"])
                    return .close(CloseRequest(code: 1011, reason: "session store unavailable", drainFirst: false))
                } catch {
                    return .clientGone
                }
            }
            group.addTask {
                var reader = ConnectionReader(session: session, outbox: outbox, hub: hub, limits: limits, rateKey: rateKey) {
                    activity(credential)
                }
                return await reader.run(inbound) ? .clientGone : .readerStopped
            }
            group.addTask { .close(await outbox.abortingClose()) }
            var first = Exit.clientGone
            while let next = await group.next() {
                if case .readerStopped = next { continue }
                first = next
                break
            }
            group.cancelAll()
            outbox.finish()
            return first
        }
        guard case .close(let request) = exit, request.code != 1000 else { return }
        logger.debug("Closing connection", metadata: ["session.id": "\(id)", "close.code": "\(request.code)"])
        await close(outbound, code: request.code, reason: request.reason)
    }

    /// Answers a connection over a connection limit: a connection-scoped `too_many_connections`
    /// naming the limit, then close code 4429. The client may retry later.
    private func refuse(
        _ refusal: ConnectionLimiter.Refusal,
        session id: SessionID,
        outbound: WebSocketOutboundWriter,
        logger: Logger
    ) async {
        hub.metrics.limitReached(refusal.limit)
        logger.debug("Connection refused", metadata: ["session.id": "\(id)", "limit": "\(refusal.limit.rawValue)"])
        try? await outbound.write(.text(hub.connectionErrorText(.tooManyConnections, refusal.message, session: id)))
        await close(outbound, code: Self.tooManyConnectionsCloseCode, reason: ErrorCode.tooManyConnections.rawValue)
    }

    /// The close code of a connection refused by a connection limit.
    static let tooManyConnectionsCloseCode: UInt16 = 4429

    /// Closes with `code`; a client that does not read may never accept the close frame, so it
    /// gets closeTimeout.
    private func close(_ outbound: WebSocketOutboundWriter, code: UInt16, reason: String) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await outbound.close(WebSocketErrorCode(codeNumber: Int(code)), reason: reason)
            }
            group.addTask { try? await Task.sleep(for: limits.closeTimeout) }
            await group.next()
            group.cancelAll()
        }
    }
}

/// The store could not be read while replaying: the connection closes with 1011.
private struct ReplayUnavailable: Error {
    var underlying: any Error
}

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

/// The writing half of a connection: `connection` first, then replay, then live events, each
/// event at most once (by seq).
private struct ConnectionWriter {
    let hub: SessionHub
    let session: Session
    let outbound: WebSocketOutboundWriter

    func run(outbox: Outbox, lastSeq: Int64?, deliveredSeq: Int64, latestSeq: Int64) async throws -> CloseRequest {
        var lastSent = try await resume(after: lastSeq, deliveredSeq: deliveredSeq, latestSeq: latestSeq)
        while true {
            switch await outbox.next() {
            case .close(let request):
                return request
            case .frames(let frames):
                for frame in frames {
                    switch frame {
                    case .event(let seq?, let text):
                        guard seq > lastSent else { continue }
                        try await outbound.write(.text(text))
                        lastSent = seq
                    case .live(let seq, let text, let emittedAt):
                        guard seq > lastSent else { continue }
                        try await outbound.write(.text(text))
                        lastSent = seq
                        hub.metrics.eventDelivered(after: .now - emittedAt)
                    case .event(nil, let text):
                        try await outbound.write(.text(text))
                    case .replay(let after):
                        let (delivered, latest) = session.sequence
                        lastSent = max(lastSent, try await resume(after: after, deliveredSeq: delivered, latestSeq: latest))
                    }
                }
            }
        }
    }

    /// Sends `connection`, then the stored events in `(after, deliveredSeq]`; returns the seq
    /// up to which the client now has every event.
    private func resume(after: Int64?, deliveredSeq: Int64, latestSeq: Int64) async throws -> Int64 {
        var from = after
        var gap = false
        if let after, after > latestSeq {
            // The client has seen more than this session holds (another server, or a reset store).
            from = 0
            gap = true
        }
        let connection = ServerEvent(
            sessionID: session.id,
            seq: nil,
            timestamp: .now(),
            payload: .connection(resumedFrom: gap ? nil : after, latestSeq: latestSeq, serverVersion: hub.serverVersion)
        )
        try await outbound.write(.text(connection.json))
        if gap {
            let error = hub.connectionErrorText(
                .resumeGap,
                "last_seq \(after ?? 0) is beyond this session's newest event \(latestSeq): replaying the whole history.",
                session: session.id
            )
            try await outbound.write(.text(error))
        }
        guard var cursor = from else { return deliveredSeq }
        while cursor < deliveredSeq {
            let page: [StoredEvent]
            do {
                page = try await hub.store.events(in: session.id, after: cursor, through: deliveredSeq, limit: 512)
            } catch {
                throw ReplayUnavailable(underlying: error)
            }
            guard let last = page.last else { break }
            for event in page {
                try await outbound.write(.text(event.json))
            }
            cursor = last.seq
        }
        return max(deliveredSeq, from ?? 0)
    }
}

/// The reading half of a connection: reassembles messages within the size limit, decodes and
/// validates them, and answers each bad one with its coded error.
private struct ConnectionReader {
    let session: Session
    let outbox: Outbox
    let hub: SessionHub
    let limits: ConnectionLimits
    let activity: @Sendable () -> Void
    /// Whose turn budget the connection's messages count against.
    let rateKey: String?
    var meter: ViolationMeter
    var frames: TokenBucket?
    var resumes: TokenBucket?

    init(
        session: Session,
        outbox: Outbox,
        hub: SessionHub,
        limits: ConnectionLimits,
        rateKey: String?,
        activity: @escaping @Sendable () -> Void
    ) {
        self.activity = activity
        self.session = session
        self.outbox = outbox
        self.hub = hub
        self.limits = limits
        self.rateKey = rateKey
        self.meter = ViolationMeter(capacity: limits.violationCapacity)
        self.frames = TokenBucket(perSecond: limits.maxMessagesPerSecond)
        self.resumes = TokenBucket(perSecond: limits.maxResumesPerSecond)
    }

    /// Reads until the client goes away (true) or the connection must close for violations (false).
    mutating func run(_ inbound: WebSocketInboundStream) async -> Bool {
        var message: ByteBuffer?
        var isBinary = false
        var size = 0
        do {
            for try await frame in inbound {
                switch frame.opcode {
                case .text, .binary:
                    isBinary = frame.opcode == .binary
                    size = frame.data.readableBytes
                    message = size <= limits.maxMessageBytes && !isBinary ? frame.data : nil
                case .continuation:
                    size += frame.data.readableBytes
                    if size <= limits.maxMessageBytes, !isBinary {
                        var data = frame.data
                        message?.writeBuffer(&data)
                    } else {
                        message = nil
                    }
                }
                guard frame.fin else { continue }
                let complete = message
                message = nil
                let keepGoing: Bool
                if frames?.take() == false {
                    hub.metrics.limitReached(.messagesPerSecond)
                    keepGoing = violation(
                        .rateLimited,
                        "Too many frames: at most \(limits.maxMessagesPerSecond) per second (--max-messages-per-second); this one was dropped."
                    )
                } else if size > limits.maxMessageBytes {
                    keepGoing = violation(
                        .frameTooLarge,
                        "The message is \(size) bytes; the limit is \(limits.maxMessageBytes) bytes."
                    )
                } else if isBinary {
                    keepGoing = violation(.unsupportedFrame, "Binary frames are not supported: send UTF-8 JSON text frames.")
                } else if let complete {
                    keepGoing = await handle(complete)
                } else {
                    keepGoing = violation(.invalidJSON, "The frame is not valid UTF-8 text.")
                }
                guard keepGoing else { return false }
            }
        } catch {
            return true
        }
        return true
    }

    private mutating func handle(_ message: ByteBuffer) async -> Bool {
        do {
            switch try ClientFrame.decode(utf8: message.readableBytesView, session: session.id, limits: limits.frameLimits) {
            case .message(let content, let clientMessageID):
                activity()
                await session.receiveMessage(content: content, clientMessageID: clientMessageID, from: outbox, rateKey: rateKey)
            case .cancel:
                session.cancelTurn(reason: "cancelled_by_user")
            case .resume(let lastSeq):
                guard resumes?.take() != false else {
                    hub.metrics.limitReached(.resumesPerSecond)
                    return violation(
                        .rateLimited,
                        "Too many resume requests: at most \(limits.maxResumesPerSecond) per second (--max-resumes-per-second); this one was dropped."
                    )
                }
                outbox.push(.replay(after: lastSeq))
            }
            return true
        } catch {
            return violation(error.code, error.message)
        }
    }

    /// Answers a bad frame; false when the connection has now violated too often and is closing.
    private mutating func violation(_ code: ErrorCode, _ message: String) -> Bool {
        outbox.push(hub.connectionError(code, message, session: session.id))
        guard meter.record() else { return true }
        outbox.push(
            hub.connectionError(.rateLimited, "Too many invalid or excess frames: closing the connection.", session: session.id)
        )
        outbox.requestClose(CloseRequest(code: 1008, reason: "too many invalid or excess frames", drainFirst: true))
        return false
    }
}
