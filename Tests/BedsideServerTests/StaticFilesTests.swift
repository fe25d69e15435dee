import BedsideCore
import Testing

/// The web UI served at `/`: its files with the right types and security headers, and nothing
/// outside them.
@Suite struct StaticFilesTests {
    static let csp =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
        + "manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    @Test func theIndexIsServedAtTheRootWithAStrictPolicy() async throws {
        let server = try await LiveServer.start()
        let root = try await server.reply("/")
        #expect(root.status == 200)
        #expect(root.headers["content-type"] == "text/html; charset=utf-8")
        #expect(root.headers["content-security-policy"] == Self.csp)
        #expect(root.headers["x-content-type-options"] == "nosniff")
        #expect(root.headers["referrer-policy"] == "no-referrer")
        #expect(root.body.contains("<bedside-app"))
        #expect(!root.body.contains("<script>"), "no inline script: the policy would block it")
        let index = try await server.reply("/index.html")
        #expect(index.body == root.body)
        try await server.stop()
    }

    @Test(arguments: [
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/lib/reducer.js", "text/javascript; charset=utf-8"),
        ("/lib/connection.js", "text/javascript; charset=utf-8"),
        ("/app.css", "text/css; charset=utf-8"),
        ("/components/chat-view/chat-view.js", "text/javascript; charset=utf-8"),
    ])
    func eachFileHasItsContentType(_ path: String, _ type: String) async throws {
        let server = try await LiveServer.start()
        let reply = try await server.reply(path)
        #expect(reply.status == 200, "\(path)")
        #expect(reply.headers["content-type"] == type)
        #expect(reply.headers["content-security-policy"] == Self.csp)
        #expect(reply.headers["x-content-type-options"] == "nosniff")
        #expect(!reply.body.isEmpty)
        try await server.stop()
    }

    @Test(arguments: [
        "/../Package.swift", "/lib/../../Package.swift", "/%2e%2e/Package.swift", "/lib/%2e%2e/%2e%2e/Package.swift",
        "/..%2fPackage.swift", "/BedsideWeb.swift", "/test/reducer.test.js", "/lib", "/lib/", "/nope.html",
        "//etc/passwd", "/lib/..%2f..%2fREADME.md",
    ])
    func nothingOutsideTheUIIsServed(_ path: String) async throws {
        let server = try await LiveServer.start()
        let reply = try await server.reply(path)
        #expect(reply.status == 404, "\(path)")
        #expect(try JSONValue.parse(reply.body).code == "not_found")
        try await server.stop()
    }

    @Test func theConfigurationTellsThePageTheTraceURL() async throws {
        let template = "http://localhost:16686/trace/{trace_id}"
        let server = try await LiveServer.start { $0.traceURL = template }
        let reply = try await server.reply("/config.json")
        #expect(reply.status == 200)
        #expect(reply.headers["content-type"] == "application/json; charset=utf-8")
        let config = try JSONValue.parse(reply.body)
        #expect(config["trace_url"]?.stringValue == template)
        #expect(config["server_version"]?.stringValue != nil)
        try await server.stop()

        let plain = try await LiveServer.start()
        #expect(try JSONValue.parse(await plain.reply("/config.json").body)["trace_url"] == .null)
        try await plain.stop()
    }
}
