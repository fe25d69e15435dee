import BedsideAuth
import Foundation
import Logging
import Synchronization

/// Keeps every open socket and event stream no longer than the credential it was opened with.
///
/// Each long-lived connection registers its credential and a way to close it. Twice a second
/// the watch closes those whose credential has ended: a bearer token past its `exp`, a sign-in
/// session past its absolute expiry, idle too long or revoked, an API key revoked (also by
/// `bedside keys revoke` in another process, read from the auth database). Sign-out ends its
/// session's connections at once through ``end(webSession:reason:)``.
final class CredentialWatch: Sendable {
    /// Why a credential's connections are closed: the reason of close code 4401.
    enum Reason: String, Sendable {
        case signedOut = "signed_out"
        case sessionExpired = "session_expired"
        case credentialRevoked = "credential_revoked"
        case tokenExpired = "token_expired"
    }

    typealias Close = @Sendable (Reason) -> Void

    private struct Entry {
        var credential: Credential
        var close: Close
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        var lastRevocationCheck: Date
    }

    private let authentication: Authentication
    private let state: Mutex<State>
    private let logger: Logger
    let interval: Duration

    init(authentication: Authentication, logger: Logger, interval: Duration = .milliseconds(500)) {
        self.authentication = authentication
        self.logger = logger
        self.interval = interval
        self.state = Mutex(State(lastRevocationCheck: authentication.clock()))
    }

    /// Watches `credential` until ``unregister(_:)``; `close` is called at most once.
    func register(_ credential: Credential, close: @escaping Close) -> UInt64? {
        guard credential != .local else { return nil }
        return state.withLock { state in
            state.nextID += 1
            state.entries[state.nextID] = Entry(credential: credential, close: close)
            return state.nextID
        }
    }

    func unregister(_ id: UInt64?) {
        guard let id else { return }
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Closes every connection of sign-in session `id` (sign-out, or revocation by an admin).
    func end(webSession id: String, reason: Reason) {
        close(reason) { credential in
            if case .webSession(id, _) = credential { return true }
            return false
        }
    }

    /// Closes every connection of API key `id`.
    func end(apiKey id: String) {
        close(.credentialRevoked) { $0 == .apiKey(id: id) }
    }

    /// Checks every watched credential until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            check()
        }
    }

    /// One pass: expiries, idle and revoked sign-in sessions, revoked keys.
    func check() {
        let now = authentication.clock()
        let (entries, since) = state.withLock { state in
            let since = state.lastRevocationCheck
            state.lastRevocationCheck = now
            return (state.entries, since)
        }
        guard !entries.isEmpty else { return }
        var ended: [(UInt64, Reason)] = []
        var sessions: [String: Reason?] = [:]
        var revokedKeys: Set<String>?
        for (id, entry) in entries {
            switch entry.credential {
            case .local:
                continue
            case .bearer(let expiry):
                if now >= expiry { ended.append((id, .tokenExpired)) }
            case .webSession(let session, let expiry):
                if now >= expiry {
                    ended.append((id, .sessionExpired))
                    continue
                }
                if sessions[session] == nil { sessions[session] = webSessionEnd(session, now: now) }
                if let reason = sessions[session] ?? nil { ended.append((id, reason)) }
            case .apiKey(let key):
                if revokedKeys == nil {
                    // A little overlap, so that a revocation written just as the last pass read is not missed.
                    revokedKeys = Set((try? authentication.database?.revokedKeyIDs(since: since.addingTimeInterval(-2))) ?? [])
                }
                if revokedKeys?.contains(key) == true { ended.append((id, .credentialRevoked)) }
            }
        }
        for (id, reason) in ended { closeEntry(id, reason) }
    }

    /// Why sign-in session `id` has ended, or nil while it is valid.
    private func webSessionEnd(_ id: String, now: Date) -> Reason? {
        guard let database = authentication.database else { return nil }
        let found: WebSessionRecord?
        do {
            found = try database.webSession(id: id)
        } catch {
            // The database could not be read: keep the connection rather than guess.
            return nil
        }
        guard let record = found else { return .credentialRevoked }
        if record.revokedAt != nil { return .credentialRevoked }
        if now >= record.expiresAt || now.timeIntervalSince(record.lastSeenAt) >= authentication.idleTimeout {
            return .sessionExpired
        }
        return nil
    }

    private func close(_ reason: Reason, where matches: (Credential) -> Bool) {
        let ids = state.withLock { state in state.entries.filter { matches($0.value.credential) }.map(\.key) }
        for id in ids { closeEntry(id, reason) }
    }

    private func closeEntry(_ id: UInt64, _ reason: Reason) {
        guard let entry = state.withLock({ $0.entries.removeValue(forKey: id) }) else { return }
        logger.info("Closing a connection whose credential ended", metadata: ["reason": "\(reason.rawValue)"])
        entry.close(reason)
    }

    /// Connections watched, for tests.
    var count: Int { state.withLock { $0.entries.count } }
}
