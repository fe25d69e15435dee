import AsyncHTTPClient
import BedsideServer
import Crypto
import Foundation
import HummingbirdWSClient
import Logging
import NIOSSL
import Testing
import X509

/// `--tls-cert` and `--tls-key`: HTTPS and `wss://` on the same port, with HSTS.
@Suite struct TLSTests {
    /// A fresh self-signed certificate (P-256), made in memory with swift-certificates.
    private func certificate() throws -> TLSConfiguration {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("127.0.0.1") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-60),
            notValidAfter: now.addingTimeInterval(3600),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions(),
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        let pem = try certificate.serializeAsPEM().pemString
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem))
        )
    }

    @Test func httpsAndSecureSocketsServeWithHSTS() async throws {
        let configuration = try certificate()
        let server = try await LiveServer.start(tls: configuration)
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
            defer { sink.finish() }
            return try await WebSocketClient.connect(
                // SNI takes a name, not an IP address.
                url: "wss://localhost:\(server.port)/ws?session_id=\(session)",
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
