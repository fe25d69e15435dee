import BedsideCore
import BedsideFHIR
import BedsideTestSupport
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing

/// A FHIR REST server on 127.0.0.1 that answers reads and searches from an embedded store, with
/// a client-credentials token endpoint, the way Aidbox is reached. It records every request
/// line as it arrived, before any routing.
final class FakeFHIRServer: Sendable {
    let port: Int
    private let server: LoopbackServer
    private let counter: Counter
    private let log: RequestLog
    /// How many tokens have been asked for.
    var tokens: Int { counter.value.load(ordering: .relaxed) }
    /// `METHOD path?query` of every request, as sent.
    var requests: [String] { log.lines.withLock { $0 } }
    /// The transaction Bundles received.
    var transactions: [JSONValue] { log.transactions.withLock { $0 } }

    final class Counter: Sendable {
        let value = Atomic(0)
    }

    final class RequestLog: Sendable {
        let lines = Mutex<[String]>([])
        let transactions = Mutex<[JSONValue]>([])
    }

    /// Records each request before the router sees it.
    struct Recorder: RouterMiddleware {
        let log: RequestLog

        func handle(
            _ request: Request,
            context: BasicRequestContext,
            next: (Request, BasicRequestContext) async throws -> Response
        )
            async throws -> Response
        {
            log.lines.withLock { $0.append("\(request.method.rawValue) \(request.head.path ?? "")") }
            return try await next(request, context)
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)/fhir" }
    var tokenURL: String { "http://127.0.0.1:\(port)/auth/token" }

    init(store: FHIRStore, delay: Duration? = nil) async throws {
        let router = Router()
        let log = RequestLog()
        router.add(middleware: Recorder(log: log))
        let tokenRequests = Counter()
        let outcome = Self.outcome
        let authorized = Self.authorized
        router.post("/auth/token") { request, _ -> Response in
            tokenRequests.value.add(1, ordering: .relaxed)
            let form = String(buffer: try await request.body.collect(upTo: 4096))
            guard form.contains("grant_type=client_credentials"), form.contains("client_id=bedside"), form.contains("client_secret=s3cret")
            else { return Response(status: .unauthorized) }
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"access_token":"token-1","token_type":"Bearer","expires_in":3600}"#))
            )
        }
        // A batch of reads, or a transaction of PUTs and conditional creates, imported into the
        // store as one collection, all or nothing.
        router.post("/fhir") { request, _ -> Response in
            guard authorized(request) else { return outcome(.unauthorized, "Access denied") }
            let bundle = try FHIRJSON.parse(Data(try await request.body.collect(upTo: 64 << 20).readableBytesView))
            guard case .array(let entries)? = bundle["entry"] else { return outcome(.badRequest, "Expected a Bundle with entries") }
            switch bundle["type"]?.stringValue {
            case "batch":
                return try await Self.answerBatch(entries, from: store)
            case "transaction":
                log.transactions.withLock { $0.append(bundle) }
                return try await Self.apply(entries, to: store)
            default:
                return outcome(.badRequest, "Expected a batch or transaction Bundle")
            }
        }
        router.get("/fhir/:type/:id") { request, context -> Response in
            if let delay { try await Task.sleep(for: delay) }
            guard authorized(request) else { return outcome(.unauthorized, "Access denied") }
            guard let json = try await store.read(type: context.parameters.get("type") ?? "", id: context.parameters.get("id") ?? "") else {
                return outcome(.notFound, "Resource not found")
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/fhir+json"],
                body: .init(byteBuffer: ByteBuffer(string: json))
            )
        }
        router.get("/fhir/:type") { request, context -> Response in
            if let delay { try await Task.sleep(for: delay) }
            guard authorized(request) else { return outcome(.unauthorized, "Access denied") }
            let parameters = request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
            let result: FHIRSearchResult
            do {
                result = try await store.search(type: context.parameters.get("type") ?? "", parameters: parameters)
            } catch {
                return outcome(.badRequest, "\(error)")
            }
            var body = #"{"resourceType":"Bundle","type":"searchset","total":\#(result.total),"link":["#
            body += #"{"relation":"self","url":"x"}"#
            if result.nextOffset != nil { body += #",{"relation":"next","url":"y"}"# }
            body += #"],"entry":["#
            body += result.resources.map { #"{"resource":\#($0),"search":{"mode":"match"}}"# }.joined(separator: ",")
            body += "]}"
            return Response(
                status: .ok,
                headers: [.contentType: "application/fhir+json"],
                body: .init(byteBuffer: ByteBuffer(string: body))
            )
        }
        server = try await LoopbackServer.start(router: router, label: "fake-fhir")
        port = server.port
        counter = tokenRequests
        self.log = log
    }

    /// Answers the GET entries of a batch, in order.
    static func answerBatch(_ entries: [JSONValue], from store: FHIRStore) async throws -> Response {
        var answers: [JSONValue] = []
        for entry in entries {
            guard entry["request"]?["method"] == .string("GET"), let url = entry["request"]?["url"]?.stringValue else {
                return outcome(.badRequest, "Expected GET entries")
            }
            let parts = url.split(separator: "/")
            if parts.count == 2, let json = try await store.read(type: String(parts[0]), id: String(parts[1])) {
                answers.append(.object(["resource": try FHIRJSON.parse(json), "response": .object(["status": .string("200 OK")])]))
            } else {
                answers.append(.object(["response": .object(["status": .string("404 Not Found")])]))
            }
        }
        let body = JSONValue.object(["resourceType": .string("Bundle"), "type": .string("batch-response"), "entry": .array(answers)])
        return Response(
            status: .ok,
            headers: [.contentType: "application/fhir+json"],
            body: .init(byteBuffer: ByteBuffer(string: FHIRJSON.text(body)))
        )
    }

    /// Applies a transaction as a FHIR server would: `PUT Type/id` as written; `POST Type` with
    /// `ifNoneExist` skipped when a stored resource matches (identifier or _id), else created
    /// under a new id; `urn:uuid:` references rewritten to what each create resolved to.
    static func apply(_ entries: [JSONValue], to store: FHIRStore) async throws -> Response {
        var resolved: [String: String] = [:]  // fullUrl -> Type/id
        var kept: [JSONValue] = []
        for entry in entries {
            guard var resource = entry["resource"]?.objectValue, let type = resource["resourceType"]?.stringValue else {
                return outcome(.badRequest, "An entry has no resource")
            }
            switch entry["request"]?["method"]?.stringValue {
            case "PUT":
                kept.append(.object(resource))
            case "POST":
                guard let fullUrl = entry["fullUrl"]?.stringValue, let query = entry["request"]?["ifNoneExist"]?.stringValue else {
                    return outcome(.badRequest, "Expected conditional creates with a fullUrl")
                }
                if let existing = try await match(type: type, query: query, in: store) {
                    resolved[fullUrl] = "\(type)/\(existing)"
                } else {
                    let id = UUID().uuidString.lowercased()
                    resource["id"] = .string(id)
                    resolved[fullUrl] = "\(type)/\(id)"
                    kept.append(.object(resource))
                }
            default:
                return outcome(.badRequest, "Expected PUT or POST entries")
            }
        }
        let collection = JSONValue.object([
            "resourceType": .string("Bundle"), "type": .string("collection"),
            "entry": .array(kept.map { .object(["resource": rewrite($0, resolved)]) }),
        ])
        do {
            try await store.importPatient(Data(FHIRJSON.text(collection).utf8))
        } catch let error as FHIRImportError {
            return outcome(.unprocessableContent, error.message)
        }
        let body = #"{"resourceType":"Bundle","type":"transaction-response","entry":[]}"#
        return Response(status: .ok, headers: [.contentType: "application/fhir+json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// The id of the stored `type` that `identifier=system|value` or `_id=id` matches.
    private static func match(type: String, query: String, in store: FHIRStore) async throws -> String? {
        guard let equals = query.firstIndex(of: "=") else { return nil }
        let name = query[..<equals]
        let value = String(query[query.index(after: equals)...]).removingPercentEncoding ?? ""
        if name == "_id" { return try await store.read(type: type, id: value) == nil ? nil : value }
        guard name == "identifier" else { return nil }
        let page = try await store.search(type: type, parameters: [("_count", "1000")])
        for text in page.resources {
            let resource = try FHIRJSON.parse(text)
            guard case .array(let identifiers)? = resource["identifier"] else { continue }
            let matches = identifiers.contains { "\($0["system"]?.stringValue ?? "")|\($0["value"]?.stringValue ?? "")" == value }
            if matches { return resource["id"]?.stringValue }
        }
        return nil
    }

    private static func rewrite(_ value: JSONValue, _ resolved: [String: String]) -> JSONValue {
        switch value {
        case .object(var members):
            for (key, member) in members {
                if key == "reference", let text = member.stringValue, let target = resolved[text] {
                    members[key] = .string(target)
                } else {
                    members[key] = rewrite(member, resolved)
                }
            }
            return .object(members)
        case .array(let elements):
            return .array(elements.map { rewrite($0, resolved) })
        default:
            return value
        }
    }

    @Sendable static func outcome(_ status: HTTPResponse.Status, _ text: String) -> Response {
        let body = #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"\#(text)"}]}"#
        return Response(status: status, headers: [.contentType: "application/fhir+json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    @Sendable static func authorized(_ request: Request) -> Bool { request.headers[.authorization] == "Bearer token-1" }

    func stop() async {
        await server.stop()
    }
}

/// The same FHIR tools over a FHIR REST server answer exactly as over the embedded store.
@Suite struct RESTSourceTests {
    let temporary: TemporaryStore
    let lean: String

    init() async throws {
        temporary = try TemporaryStore()
        let data = try Fixture.data("patient-lean-davis")
        try await temporary.store.importPatient(data)
        try await temporary.store.importPatient(try Fixture.data("patient-carroll-ohara"))
        lean = try Fixture.patientID(data)
    }

    @Test func toolsOverRESTMatchToolsOverTheEmbeddedStore() async throws {
        let server = try await FakeFHIRServer(store: temporary.store)
        let source = RESTFHIRSource(
            configuration: FHIRServerConfiguration(
                baseURL: server.baseURL + "/",
                authentication: .clientCredentials(tokenURL: server.tokenURL, clientID: "bedside", secret: "s3cret")
            )
        )
        let remote = FHIRTools(source: source)
        let local = FHIRTools(source: EmbeddedFHIRSource(store: temporary.store))
        let calls: [(String, JSONValue)] = [
            ("find_patients", .object(["name": .string("lean davis")])),
            ("patient_summary", .object(["patient_id": .string(lean)])),
            ("search_clinical", .object(["patient_id": .string(lean), "resource_type": .string("Observation"), "count": .integer(5)])),
            (
                "search_clinical",
                .object(["patient_id": .string(lean), "resource_type": .string("Condition"), "date_from": .string("2000")])
            ),
            ("observation_trend", .object(["patient_id": .string(lean), "code": .string("http://loinc.org|29463-7")])),
            ("read_resource", .object(["resource_type": .string("Patient"), "id": .string(lean)])),
            ("read_resource", .object(["resource_type": .string("Patient"), "id": .string("missing")])),
        ]
        for (name, arguments) in calls {
            let expected = try await local.call(name, arguments: arguments)
            let actual = try await remote.call(name, arguments: arguments)
            #expect(actual == expected, "\(name) \(arguments)")
        }
        #expect(server.tokens == 1)  // the token is cached across calls
        try await source.shutdown()
        await server.stop()
    }

    @Test func importWritesOneTransactionThatTheToolsThenRead() async throws {
        let remote = try TemporaryStore()
        let server = try await FakeFHIRServer(store: remote.store)
        let source = RESTFHIRSource(
            configuration: FHIRServerConfiguration(baseURL: server.baseURL, authentication: .bearer("token-1"), timeout: .seconds(120))
        )
        let data = try Fixture.data("patient-cris-rath")  // a batch bundle
        let result = try await source.importPatient(data)
        #expect(result.patientID == (try Fixture.patientID(data)))
        #expect(result.counts == (try Fixture.expectedCounts(data)))
        #expect(try await remote.store.counts(patientID: result.patientID)["Condition"] == 4)
        // Importing again updates: the server holds each resource once.
        try await source.importPatient(data)
        #expect(try await remote.store.statistics().resources == result.counts.values.reduce(0, +))
        let found = try await FHIRTools(source: source).call("find_patients", arguments: .object(["name": .string("cris rath")]))
        #expect(found.content.contains(result.patientID))

        // A reference to a patient the server does not hold: the server refuses, nothing changes.
        let orphan =
            Data(
                #"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p-new"}},"#.utf8
            )
            + Data(
                #"{"resource":{"resourceType":"Condition","id":"c-x","subject":{"reference":"Patient/p-new"},"asserter":{"reference":"Practitioner/nobody"}}}]}"#
                    .utf8
            )
        do {
            try await source.importPatient(orphan)
            Issue.record("the import of a dangling reference succeeded")
        } catch let error as FHIRImportError {
            #expect(error.status == 422)
            #expect(error.message.contains("refused the transaction (422)"))
            #expect(error.message.contains("Practitioner/nobody"))
        }
        #expect(try await remote.store.read(type: "Patient", id: "p-new") == nil)
        // Input the importer refuses never reaches the server.
        await #expect(throws: FHIRImportError.self) { try await source.importPatient(Data("not json".utf8)) }
        try await source.shutdown()
        await server.stop()
    }

    @Test func thePatientRecordReadOverRESTMatchesTheStoresSummary() async throws {
        let server = try await FakeFHIRServer(store: temporary.store)
        let source = RESTFHIRSource(
            configuration: FHIRServerConfiguration(baseURL: server.baseURL, authentication: .bearer("token-1"), timeout: .seconds(120))
        )
        let remote = try FHIRJSON.parse(try #require(try await source.patientRecordJSON(patientID: lean)))
        let local = try FHIRJSON.parse(try #require(try await temporary.store.patientRecordJSON(patientID: lean)))
        #expect(remote["summary"] == local["summary"])
        #expect(remote["patient"] == local["patient"])
        let expected = try Fixture.expectedCounts(try Fixture.data("patient-lean-davis"))
        var clinical = expected.filter { RESTFHIRSource.countedTypes.contains($0.key) }
        clinical["Patient"] = 1
        #expect(remote["counts"] == JSONValue.object(clinical.mapValues { JSONValue.integer(Int64($0)) }))
        #expect(try await source.patientRecordJSON(patientID: "nobody") == nil)
        try await source.shutdown()
        await server.stop()
    }

    @Test func faultsAreErrorsThatSayWhatToCheck() async throws {
        let server = try await FakeFHIRServer(store: temporary.store)
        let wrongToken = RESTFHIRSource(configuration: FHIRServerConfiguration(baseURL: server.baseURL, authentication: .bearer("nope")))
        await #expect(throws: FHIRServerError.self) { _ = try await wrongToken.page(type: "Patient", parameters: []) }
        do {
            _ = try await wrongToken.page(type: "Patient", parameters: [])
        } catch let error as FHIRServerError {
            #expect(error.message == "401 from the FHIR server: check BEDSIDE_FHIR_TOKEN or the client credentials: Access denied")
        }
        let badCredentials = RESTFHIRSource(
            configuration: FHIRServerConfiguration(
                baseURL: server.baseURL,
                authentication: .clientCredentials(tokenURL: server.tokenURL, clientID: "bedside", secret: "wrong")
            )
        )
        await #expect(throws: FHIRServerError.self) { _ = try await badCredentials.resource(type: "Patient", id: lean) }
        let url = server.baseURL
        try await wrongToken.shutdown()
        try await badCredentials.shutdown()
        await server.stop()
        let down = RESTFHIRSource(configuration: FHIRServerConfiguration(baseURL: url))
        do {
            _ = try await down.resource(type: "Patient", id: lean)
            Issue.record("a stopped server answered")
        } catch let error as FHIRServerError {
            #expect(error.message.hasPrefix("Cannot reach the FHIR server at \(url): is it running?"))
        }
        try await down.shutdown()
    }

    @Test func aSlowServerTimesOut() async throws {
        let server = try await FakeFHIRServer(store: temporary.store, delay: .seconds(3))
        let source = RESTFHIRSource(
            configuration: FHIRServerConfiguration(baseURL: server.baseURL, authentication: .bearer("token-1"), timeout: .milliseconds(300))
        )
        let tools = FHIRTools(source: source)
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: FHIRServerError.self) {
            _ = try await tools.call("find_patients", arguments: .object(["name": .string("lean")]))
        }
        #expect(clock.now - start < .seconds(5))
        try await source.shutdown()
        await server.stop()
    }

    @Test func configurationFromTheEnvironment() throws {
        #expect(try FHIRServerConfiguration.fromEnvironment([:]) == nil)
        #expect(
            try FHIRServerConfiguration.fromEnvironment(["BEDSIDE_FHIR_URL": "http://h/fhir/", "BEDSIDE_FHIR_TOKEN": "t"])
                == FHIRServerConfiguration(baseURL: "http://h/fhir", authentication: .bearer("t"))
        )
        let aidbox = try FHIRServerConfiguration.fromEnvironment([
            "BEDSIDE_FHIR_URL": "https://box/fhir", "BEDSIDE_FHIR_CLIENT_ID": "c", "BEDSIDE_FHIR_CLIENT_SECRET": "s",
            "BEDSIDE_FHIR_TOKEN_URL": "https://box/auth/token",
        ])
        #expect(aidbox?.authentication == .clientCredentials(tokenURL: "https://box/auth/token", clientID: "c", secret: "s"))
        #expect(throws: FHIRServerConfiguration.ConfigurationError.self) {
            _ = try FHIRServerConfiguration.fromEnvironment(["BEDSIDE_FHIR_URL": "https://box/fhir", "BEDSIDE_FHIR_CLIENT_ID": "c"])
        }
        #expect(throws: FHIRServerConfiguration.ConfigurationError.self) {
            _ = try FHIRServerConfiguration.fromEnvironment(["BEDSIDE_FHIR_URL": "box"])
        }
    }
}
