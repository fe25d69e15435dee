// swift-tools-version: 6.2
import PackageDescription

/// Settings every Bedside target shares: Swift 6 strict concurrency, explicit existentials,
/// imports that are internal unless declared otherwise, and no warning left standing.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

/// Tests read like the protocol and lean on re-exported modules, so they keep the strict
/// concurrency and existential rules but not the import rules.
let testSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "Bedside",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bedside", targets: ["bedside"]),
        .executable(name: "bedside-bench", targets: ["bedside-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", exact: "0.12.1"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    ],
    targets: [
        .target(
            name: "BedsideCore",
            swiftSettings: strictSettings
        ),
        .target(
            name: "BedsideProtocol",
            dependencies: ["BedsideCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BedsideAgent",
            dependencies: [
                "BedsideCore",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BedsideStore",
            dependencies: [
                "BedsideCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // Identity: principals and roles, bearer-token (JWT) verification against an issuer's JWKS,
        // the OpenID Connect code flow, API keys and browser sign-in sessions (SQLite).
        .target(
            name: "BedsideAuth",
            dependencies: [
                "BedsideCore",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BedsideFHIR",
            dependencies: [
                "BedsideCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // The browser UI: Web/ at the repository root holds the page (public/), its node tests
        // (test/) and this target's one source, which finds public/ in the resource bundle.
        .target(
            name: "BedsideWeb",
            path: "Web",
            exclude: ["test", "README.md"],
            sources: ["BedsideWeb.swift"],
            resources: [.copy("public")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BedsideServer",
            dependencies: [
                "BedsideAgent",
                "BedsideAuth",
                "BedsideCore",
                "BedsideProtocol",
                "BedsideWeb",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "BedsideOpenAI",
            dependencies: [
                "BedsideCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // MCP both ways: the client toolset that offers MCP servers' tools to the agent, and the
        // session map that serves Bedside's own tools at /mcp. It never imports Hummingbird, whose
        // names clash with MCP's; BedsideServer reaches it through the MCPEndpoint seam.
        .target(
            name: "BedsideMCP",
            dependencies: [
                "BedsideCore",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
        // A small stdio MCP server for the tests: a read tool, a write tool, a slow tool and one
        // that kills its own process mid-call. The tests run it as a process (built with the
        // package), so it is not a dependency of a test target.
        .executableTarget(
            name: "bedside-mcp-fixture",
            dependencies: [
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "bedside",
            dependencies: [
                "BedsideAgent",
                "BedsideAuth",
                "BedsideCore",
                "BedsideFHIR",
                "BedsideMCP",
                "BedsideOpenAI",
                "BedsideServer",
                "BedsideStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // An OpenAI-compatible server that plays a script, for the tests and the benchmark.
        .target(
            name: "BedsideTestSupport",
            dependencies: [
                "BedsideCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The load benchmark (BENCHMARKS.md): its pure parts, and the command that drives Bedside.
        .target(
            name: "BedsideBenchCore",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "bedside-bench",
            dependencies: [
                "BedsideBenchCore",
                "BedsideCore",
                "BedsideOpenAI",
                "BedsideProtocol",
                "BedsideStore",
                "BedsideTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "BedsideBenchTests",
            dependencies: ["BedsideBenchCore"],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "BedsideAgentTests",
            dependencies: [
                "BedsideCore",
                "BedsideAgent",
                "BedsideTestSupport",
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "BedsideOpenAITests",
            dependencies: [
                "BedsideCore",
                "BedsideOpenAI",
                "BedsideTestSupport",
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "BedsideFHIRTests",
            dependencies: [
                "BedsideAgent",
                "BedsideCore",
                "BedsideFHIR",
                "BedsideTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "BedsideMCPTests",
            dependencies: [
                "BedsideAgent",
                "BedsideCore",
                "BedsideMCP",
                "BedsideTestSupport",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "BedsideAuthTests",
            dependencies: [
                "BedsideAuth",
                "BedsideCore",
                "BedsideTestSupport",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "BedsideProtocolTests",
            dependencies: ["BedsideCore", "BedsideProtocol"],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "BedsideStoreTests",
            dependencies: ["BedsideCore", "BedsideStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "BedsideServerTests",
            dependencies: [
                "BedsideCore",
                "BedsideProtocol",
                "BedsideAgent",
                "BedsideAuth",
                "BedsideFHIR",
                "BedsideOpenAI",
                "BedsideMCP",
                "BedsideServer",
                "BedsideStore",
                "BedsideTestSupport",
                "bedside",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: testSettings
        ),
    ]
)
