import BedsideCore
import Foundation
import Hummingbird

/// The browser UI's files, read into memory once when the server is built and served each at
/// exactly its own path, with a strict Content-Security-Policy.
///
/// It deliberately does not map request paths onto the file system: only the files found in the
/// folder at start exist for it, so no request path (`..`, encoded dots, symlinks) can reach
/// anything else. Editing a file needs a restart (and `swift build`, which copies it).
struct StaticFiles: Sendable {
    struct File: Sendable {
        var body: ByteBuffer
        var contentType: String
    }

    /// Files by URL path (`/index.html`, `/lib/reducer.js`).
    let files: [String: File]

    /// The page may load its own scripts, styles and images and open WebSockets; nothing inline,
    /// nothing from elsewhere, and no other site may frame it.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
        + "manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    static let contentTypes = [
        "html": "text/html; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "json": "application/json; charset=utf-8",
        "svg": "image/svg+xml",
        "png": "image/png",
        "ico": "image/x-icon",
        "txt": "text/plain; charset=utf-8",
        "webmanifest": "application/manifest+json",
    ]

    init(files: [String: File]) {
        self.files = files
    }

    /// Reads every regular file under `directory` whose type is known; nil or an unreadable
    /// folder gives no files (the API still works, `/` answers 404).
    init(directory: URL?) {
        var files: [String: File] = [:]
        let manager = FileManager.default
        if let directory, let paths = try? manager.subpathsOfDirectory(atPath: directory.path) {
            for relative in paths where Self.isServable(relative) {
                let url = directory.appendingPathComponent(relative)
                guard let type = Self.contentTypes[url.pathExtension.lowercased()],
                    let data = manager.contents(atPath: url.path)
                else { continue }
                files["/" + relative] = File(body: ByteBuffer(bytes: data), contentType: type)
            }
        }
        self.files = files
    }

    /// Plain path segments only: no hidden files, nothing a router would read as a parameter.
    private static func isServable(_ relative: String) -> Bool {
        relative.split(separator: "/").allSatisfy { segment in
            !segment.hasPrefix(".") && segment.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        }
    }

    func response(for path: String) -> Response? {
        guard let file = files[path] else { return nil }
        return Response(status: .ok, headers: Self.headers(contentType: file.contentType), body: .init(byteBuffer: file.body))
    }

    /// Content type plus the security headers every UI response carries.
    static func headers(contentType: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-cache"
        headers[.init("Content-Security-Policy")!] = contentSecurityPolicy
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.init("Referrer-Policy")!] = "no-referrer"
        headers[.init("Cross-Origin-Opener-Policy")!] = "same-origin"
        return headers
    }
}

/// Serves the UI: `/` is `index.html`, every file at its own path, and `GET /config.json` tells
/// the page what it cannot know by itself (the trace URL template).
func addStaticRoutes(
    to router: Router<BasicRequestContext>,
    files: StaticFiles,
    configuration: ServerConfiguration,
    authentication: Authentication,
    version: String
) {
    for path in files.files.keys.sorted() {
        router.get(RouterPath(path)) { _, _ in
            files.response(for: path) ?? Response(status: .notFound)
        }
    }
    if files.files["/index.html"] != nil {
        router.get("/") { _, _ in
            files.response(for: "/index.html") ?? Response(status: .notFound)
        }
    }
    router.get("/config.json") { _, _ in
        var json = JSONWriter()
        json.beginObject()
        json.member("trace_url", configuration.traceURL)
        json.member("server_version", version)
        json.key("auth")
        json.beginObject()
        json.key("modes")
        json.beginArray()
        for mode in Authentication.Mode.allCases where authentication.modes.contains(mode) { json.string(mode.rawValue) }
        json.endArray()
        json.member("login_url", authentication.oidc == nil ? nil : "/auth/login")
        json.endObject()
        json.endObject()
        return Response(
            status: .ok,
            headers: StaticFiles.headers(contentType: "application/json; charset=utf-8"),
            body: .init(byteBuffer: ByteBuffer(string: json.text))
        )
    }
}
