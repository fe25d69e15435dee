import BedsideAuth
import BedsideCore
import BedsideFHIR
import BedsideMCP
import BedsideServer
import BedsideStore
import Foundation
import Logging
import Testing

@testable import bedside

/// `docs/openapi.yaml` describes exactly the routes the server registers: every registered
/// route is a documented path and method, and every documented one is registered. The web UI's
/// files are routes of their own, one per file of `Web/public`; the document stands for them all
/// with `GET /{file}`.
@Suite struct OpenAPIRouteTests {
    /// The repository's root, from this file's place in it (`Tests/BedsideServerTests/…`).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The template that stands for each of the page's files.
    static let fileTemplate = "GET /{file}"

    @Test func everyRegisteredRouteIsDocumentedAndEveryDocumentedOneRegistered() async throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let documented = try OpenAPIPaths.operations(in: text)
        let pageFiles = try Self.pageFiles()
        let registered = try await Self.registeredRoutes()

        // Each page file is registered at its own path and documented through the template.
        let staticRoutes = Set(pageFiles.map { "GET \($0)" })
        #expect(staticRoutes.isSubset(of: registered), "page files without a route: \(staticRoutes.subtracting(registered).sorted())")
        let covered = Set(registered.map { staticRoutes.contains($0) ? Self.fileTemplate : $0 })

        let undocumented = covered.subtracting(documented).sorted()
        let unregistered = documented.subtracting(covered).sorted()
        #expect(undocumented.isEmpty, "registered but not in docs/openapi.yaml: \(undocumented)")
        #expect(unregistered.isEmpty, "in docs/openapi.yaml but not registered: \(unregistered)")
        // The reader must have found the document's paths, not an empty section.
        #expect(documented.count > 30)
        #expect(documented.contains("PATCH /sessions/{id}"))
        #expect(documented.contains("DELETE /mcp"))
    }

    @Test func theReaderFindsPathsAndMethodsAndNothingElse() throws {
        let text = """
            openapi: 3.1.0
            info:
              title: x
            paths:
              /health:
                get:
                  responses:
                    "200": {description: ok}
              "/sessions/{id}":
                parameters:
                  - {name: id, in: path}
                patch:
                  summary: rename
                delete: {summary: delete}
              # a comment
              /mcp:
                description: Streamable HTTP
                post: {}
            components:
              schemas:
                get:
                  type: object
            """
        #expect(try OpenAPIPaths.list(in: text) == ["GET /health", "PATCH /sessions/{id}", "DELETE /sessions/{id}", "POST /mcp"])
        #expect(throws: TestFailure.self) { try OpenAPIPaths.list(in: "openapi: 3.1.0\n") }
        #expect(throws: TestFailure.self) { try OpenAPIPaths.operations(in: "paths:\n  /a:\n    get: {}\n  /a:\n    get: {}\n") }
    }

    /// `/index.html`, `/lib/api.js`, …: what ``StaticFiles`` serves from the page's folder.
    static func pageFiles() throws -> [String] {
        let folder = root.appendingPathComponent("Web/public")
        let paths = try FileManager.default.subpathsOfDirectory(atPath: folder.path)
        return paths.filter { path in
            var directory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).path, isDirectory: &directory)
            let type = (path as NSString).pathExtension.lowercased()
            return !directory.boolValue && StaticFilesTypes.served.contains(type)
                && !path.split(separator: "/").contains { $0.hasPrefix(".") }
        }.map { "/" + $0 }
    }

    /// The routes of a server with every optional part on: its MCP endpoint, patient records,
    /// MCP tool sources, and authentication by API keys and bearer JWTs with a metrics token.
    /// (Sign-in and TLS register no routes of their own: `/auth/*` is always there.)
    static func registeredRoutes() async throws -> Set<String> {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = InMemoryEventStore()
        var logger = Logger(label: "bedside-openapi-test")
        logger.logLevel = .critical
        let authentication = Authentication(
            modes: [.keys, .jwt],
            bearer: TokenVerifier(
                configuration: TokenVerifierConfiguration(issuer: "https://issuer.invalid", audiences: ["bedside"]),
                httpClient: .shared
            ),
            database: try AuthDatabase(path: directory.path + "/auth.sqlite"),
            metricsToken: "metrics-token",
            publicURL: "http://127.0.0.1:8000",
            issuer: "https://issuer.invalid"
        )
        let application = buildApplication(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
            dependencies: ServerDependencies(
                store: store,
                runner: ScriptedRunner(),
                logger: logger,
                patients: FHIRPatientRecords(store: try FHIRStore.inMemory(), maxImportBytes: 1 << 20),
                mcpEndpoint: MCPToolServer(tools: MCPEndpointTests.AuditingTools(audit: store), version: "test", logger: logger),
                toolSources: MCPToolsetBox(),
                authentication: authentication
            )
        )
        return Set(application.routes)
    }
}

/// The file types ``StaticFiles`` serves (its `contentTypes` keys), as the page-file list needs them.
enum StaticFilesTypes {
    static let served: Set<String> = ["html", "js", "mjs", "css", "json", "svg", "png", "ico", "txt", "webmanifest"]
}

/// Reads the operations of an OpenAPI document's `paths:` section, line by line, without a
/// YAML library: a path is a key indented by two spaces that starts with `/` (quoted or not),
/// an operation a key indented by four spaces under it named after an HTTP method. Other keys
/// (`parameters`, `description`) and deeper lines are skipped; the section ends at the next
/// top-level key.
enum OpenAPIPaths {
    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// `METHOD /path` for every operation, in document order.
    static func list(in text: String) throws -> [String] {
        var inPaths = false
        var foundPaths = false
        var path: String?
        var operations: [String] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let content = line.drop { $0 == " " }
            if content.isEmpty || content.hasPrefix("#") { continue }
            let indent = line.count - content.count
            if indent == 0 {
                inPaths = content == "paths:"
                foundPaths = foundPaths || inPaths
                path = nil
                continue
            }
            guard inPaths, let colon = content.firstIndex(of: ":") else { continue }
            let key = content[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            if indent == 2 {
                path = key.hasPrefix("/") ? key : nil
            } else if indent == 4, let path, methods.contains(key) {
                operations.append("\(key.uppercased()) \(path)")
            }
        }
        guard foundPaths else { throw TestFailure("no paths: section") }
        return operations
    }

    /// The operations as a set, failing on one listed twice.
    static func operations(in text: String) throws -> Set<String> {
        let list = try list(in: text)
        let unique = Set(list)
        guard unique.count == list.count else { throw TestFailure("an operation is listed twice in \(list)") }
        return unique
    }
}
