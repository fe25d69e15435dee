public import BedsideCore
import Foundation

/// A validated client → server frame (protocol.md, "Client → server").
public enum ClientFrame: Sendable, Equatable {
    /// Start a turn with `content`; `clientMessageID` makes a resend idempotent.
    case message(content: String, clientMessageID: String?)
    /// Stop the session's running turn.
    case cancel
    /// Replay every event after `lastSeq`.
    case resume(lastSeq: Int64)
}

/// Limits applied while decoding client frames.
public struct ClientFrameLimits: Sendable {
    /// Maximum `content` length in characters, after trimming. Default 32,000.
    public var maxContentCharacters: Int
    /// Maximum `client_message_id` length in characters. Default 128.
    public var maxClientMessageIDCharacters: Int

    public init(maxContentCharacters: Int = 32_000, maxClientMessageIDCharacters: Int = 128) {
        self.maxContentCharacters = maxContentCharacters
        self.maxClientMessageIDCharacters = maxClientMessageIDCharacters
    }
}

extension ClientFrame {
    /// Decodes and validates one complete text message as it came off the socket: its bytes must
    /// be UTF-8 (else `invalid_json`), then as ``decode(_:session:limits:)``.
    ///
    /// The connection reads every text message through here, after reassembling its frames
    /// within the size limit; the fuzz target `client-frame` feeds it arbitrary bytes.
    public static func decode(
        utf8 bytes: some Collection<UInt8>,
        session: SessionID,
        limits: ClientFrameLimits = .init()
    ) throws(ProtocolViolation) -> ClientFrame {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ProtocolViolation(.invalidJSON, "The frame is not valid UTF-8 text.")
        }
        return try decode(text, session: session, limits: limits)
    }

    /// Decodes and validates one text frame received on `session`'s connection.
    ///
    /// Every refusal is a ``ProtocolViolation`` whose code names the class of bad input:
    /// `invalid_json`, `invalid_message` (unknown type, missing or wrong-typed field, empty or
    /// over-long content) or `session_mismatch`.
    public static func decode(
        _ text: String,
        session: SessionID,
        limits: ClientFrameLimits = .init()
    ) throws(ProtocolViolation) -> ClientFrame {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw ProtocolViolation(.invalidJSON, "The frame is not valid JSON.")
        }
        guard case .object(let members) = value else {
            throw ProtocolViolation(.invalidMessage, "A frame must be a JSON object, not \(value.typeName).")
        }
        guard let typeValue = members["type"] else {
            throw ProtocolViolation(.invalidMessage, "The field 'type' is missing.")
        }
        guard let type = typeValue.stringValue else {
            throw ProtocolViolation(.invalidMessage, "The field 'type' must be a string, not \(typeValue.typeName).")
        }
        let kind: Kind
        switch type {
        case "message": kind = .message
        case "cancel": kind = .cancel
        case "resume": kind = .resume
        default:
            throw ProtocolViolation(
                .invalidMessage,
                "Unknown message type '\(type.prefix(40))': expected message, cancel or resume."
            )
        }
        let frameSession = try requiredString("session_id", in: members)
        guard frameSession == session.rawValue else {
            throw ProtocolViolation(.sessionMismatch, "The frame's session_id is not this connection's session.")
        }
        switch kind {
        case .message:
            let content = try requiredString("content", in: members)
            let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else {
                throw ProtocolViolation(.invalidMessage, "The field 'content' is empty.")
            }
            guard trimmed.count <= limits.maxContentCharacters else {
                throw ProtocolViolation(
                    .invalidMessage,
                    "The field 'content' has \(trimmed.count) characters; the limit is \(limits.maxContentCharacters)."
                )
            }
            var clientMessageID: String?
            switch members["client_message_id"] {
            case nil, .null?: break
            case .string(let id)?:
                guard !id.isEmpty, id.count <= limits.maxClientMessageIDCharacters else {
                    throw ProtocolViolation(
                        .invalidMessage,
                        "The field 'client_message_id' must have 1 to \(limits.maxClientMessageIDCharacters) characters."
                    )
                }
                clientMessageID = id
            case let other?:
                throw ProtocolViolation(
                    .invalidMessage,
                    "The field 'client_message_id' must be a string, not \(other.typeName)."
                )
            }
            return .message(content: trimmed, clientMessageID: clientMessageID)
        case .cancel:
            return .cancel
        case .resume:
            guard let raw = members["last_seq"] else {
                throw ProtocolViolation(.invalidMessage, "The field 'last_seq' is missing.")
            }
            guard let lastSeq = raw.integerValue, lastSeq >= 0 else {
                throw ProtocolViolation(.invalidMessage, "The field 'last_seq' must be a non-negative integer.")
            }
            return .resume(lastSeq: lastSeq)
        }
    }

    private enum Kind { case message, cancel, resume }

    private static func requiredString(
        _ name: String,
        in members: [String: JSONValue]
    ) throws(ProtocolViolation) -> String {
        guard let value = members[name] else {
            throw ProtocolViolation(.invalidMessage, "The field '\(name)' is missing.")
        }
        guard let string = value.stringValue else {
            throw ProtocolViolation(.invalidMessage, "The field '\(name)' must be a string, not \(value.typeName).")
        }
        return string
    }
}
