import BedsideAuth
import BedsideCore
import BedsideServer
import BedsideStore
import BedsideTestSupport
import Foundation
import Synchronization

/// The clock the rig's authentication reads: the real time plus an offset a test moves forward,
/// so that expiries and idle timeouts are tested without waiting for them.
final class ShiftedClock: Sendable {
    private let offset = Mutex(0.0)

    func now() -> Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    func advance(by seconds: TimeInterval) { offset.withLock { $0 += seconds } }

    /// Makes the clock read `date` now.
    func move(to date: Date) { offset.withLock { $0 = date.timeIntervalSinceNow } }
}

/// A live server with authentication on (API keys and bearer JWTs from an in-test issuer), its
/// auth database in a temporary directory, and one API key per test principal.
final class AuthRig: Sendable {
    let server: LiveServer
    let store: InMemoryEventStore
    let database: AuthDatabase
    let databasePath: String
    let issuer: TestIssuer
    let directory: TemporaryDirectory
    /// Bearer API keys by name: alice and bob (clinicians), audrey (auditor), ivan (importer), ada (admin).
    let keys: [String: String]
    let principals: [String: Principal]
    let clock: ShiftedClock
    static let audience = "bedside-tests"
    static let metricsToken = "metrics-token-for-tests"

    private init(
        server: LiveServer,
        store: InMemoryEventStore,
        database: AuthDatabase,
        databasePath: String,
        issuer: TestIssuer,
        directory: TemporaryDirectory,
        keys: [String: String],
        principals: [String: Principal],
        clock: ShiftedClock
    ) {
        self.clock = clock
        self.server = server
        self.store = store
        self.database = database
        self.databasePath = databasePath
        self.issuer = issuer
        self.directory = directory
        self.keys = keys
        self.principals = principals
    }

    static func start(
        idleTimeout: TimeInterval = 1800,
        sessionLifetime: TimeInterval = 43_200,
        patients: (any PatientRecords)? = nil,
        mcpEndpoint: (any MCPEndpoint)? = nil,
        runner: ScriptedRunner = ScriptedRunner()
    ) async throws -> AuthRig {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/auth.sqlite"
        let database = try AuthDatabase(path: path)
        var keys: [String: String] = [:]
        var principals: [String: Principal] = [:]
        for (name, role) in [("alice", Role.clinician), ("bob", .clinician), ("audrey", .auditor), ("ivan", .importer), ("ada", .admin)] {
            let created = try database.createKey(name: name, role: role, now: Date())
            keys[name] = created.secret
            principals[name] = created.record.principal
        }
        let issuer = try await TestIssuer.start()
        let clock = ShiftedClock()
        let authentication = Authentication(
            modes: [.keys, .jwt],
            bearer: TokenVerifier(
                configuration: {
                    var configuration = TokenVerifierConfiguration(issuer: issuer.issuer, audiences: [audience])
                    configuration.leeway = 1
                    return configuration
                }(),
                httpClient: .shared,
                clock: { clock.now() }
            ),
            database: database,
            metricsToken: metricsToken,
            publicURL: "http://127.0.0.1:1",
            issuer: issuer.issuer,
            idleTimeout: idleTimeout,
            sessionLifetime: sessionLifetime,
            clock: { clock.now() }
        )
        let store = InMemoryEventStore()
        let server = try await LiveServer.start(
            store: store,
            runner: runner,
            patients: patients,
            mcpEndpoint: mcpEndpoint,
            authentication: authentication
        )
        return AuthRig(
            server: server,
            store: store,
            database: database,
            databasePath: path,
            issuer: issuer,
            directory: directory,
            keys: keys,
            principals: principals,
            clock: clock
        )
    }

    func stop() async throws {
        try await server.stop()
        await issuer.stop()
        directory.remove()
    }

    /// `Authorization: Bearer <key of name>`.
    func auth(_ name: String) -> [String: String] {
        ["Authorization": "Bearer \(keys[name] ?? "")"]
    }

    func key(_ name: String) -> String { principals[name]?.key ?? "" }

    func request(
        _ method: String,
        _ path: String,
        as name: String?,
        body: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> HTTPResponseText {
        var all = headers
        if let name { all.merge(auth(name)) { $1 } }
        return try await HTTPGet.perform(
            port: server.port,
            method: method,
            path: path,
            headers: all,
            body: body.map { Data($0.utf8) }
        )
    }

    /// Opens `session` as `name` and runs one turn; returns the turn's events.
    func chat(_ session: String, as name: String, _ content: String = "hello there") async throws -> [JSONValue] {
        let socket = try await server.open(session, headers: auth(name))
        try await socket.send(.object(["type": .string("message"), "session_id": .string(session), "content": .string(content)]))
        let events = try await socket.receiveTurn()
        try await socket.close()
        return events
    }
}
