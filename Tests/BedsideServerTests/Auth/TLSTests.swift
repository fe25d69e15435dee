import AsyncHTTPClient
import BedsideServer
import Foundation
import HummingbirdWSClient
import Logging
import NIOSSL
import Testing

/// `--tls-cert` and `--tls-key`: HTTPS and `wss://` on the same port, with HSTS.
@Suite struct TLSTests {
    /// A self-signed certificate for 127.0.0.1, made by openssl in a temporary directory.
    private func certificate(in directory: TemporaryDirectory) throws -> TLSConfiguration {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", directory.path + "/key.pem", "-out", directory.path + "/cert.pem", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("openssl failed") }
        let chain = try NIOSSLCertificate.fromPEMFile(directory.path + "/cert.pem").map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: directory.path + "/key.pem", format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
    }

    @Test func httpsAndSecureSocketsServeWithHSTS() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await LiveServer.start(tls: try certificate(in: directory))
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateVerification = .none
        let http = HTTPClient(configuration: .init(tlsConfiguration: client))
        let response = try await http.execute(HTTPClientRequest(url: "https://127.0.0.1:\(server.port)/health"), timeout: .seconds(10))
        #expect(response.status == .ok)
        #expect(response.headers.first(name: "strict-transport-security") == "max-age=31536000")
        let body = try await response.body.collect(upTo: 1 << 16)
        #expect(String(buffer: body).contains(#""status":"ok""#))
        try await http.shutdown()

        let (frames, sink) = AsyncStream.makeStream(of: String.self)
        let session = newSessionID("tls")
        let socketTask = Task {
            try await WebSocketClient.connect(
                url: "wss://127.0.0.1:\(server.port)/ws?session_id=\(session)",
                tlsConfiguration: client,
                logger: Logger(label: "tls-test")
            ) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message {
                        sink.yield(text)
                        return
                    }
                }
            }
        }
        var iterator = frames.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.contains(#""type":"connection""#) == true)
        _ = try await socketTask.value
        try await server.stop()
    }
}
