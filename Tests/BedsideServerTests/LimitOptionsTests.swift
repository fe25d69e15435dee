import ArgumentParser
import BedsideServer
import Foundation
import Testing

@testable import bedside

/// How the executable reads the perimeter's options: flags first, then `BEDSIDE_` variables,
/// then the defaults of `ServerLimits`; 0 means unlimited and a bad value is a usage error.
@Suite struct LimitOptionsTests {
    @Test func theDefaultsAreThoseOfServerLimits() throws {
        let settings = try Options.parse([]).resolve(environment: [:])
        #expect(settings.server.limits == ServerLimits())
        #expect(settings.server.limits.maxConnectionsPerAddress == 256)
        #expect(settings.server.limits.maxConnectionsPerSession == 16)
        #expect(settings.server.allowedHosts.isEmpty)
        #expect(settings.server.trustedProxies.isEmpty)
        #expect(settings.agent.maxOutputTokens == 4096)
        #expect(settings.agent.maxToolCallsPerResponse == 8)
    }

    @Test func everyLimitHasAFlagAndAVariableAndZeroLiftsIt() throws {
        let flags = try Options.parse([
            "--max-connections", "0", "--max-connections-per-address", "3", "--max-connections-per-session", "2",
            "--max-messages-per-second", "5", "--max-resumes-per-second", "1", "--max-turns-per-minute", "0",
            "--max-concurrent-turns", "4", "--max-concurrent-imports", "1", "--max-mcp-sessions", "7",
            "--mcp-session-idle-seconds", "30", "--header-timeout-seconds", "2", "--idle-timeout-seconds", "9",
            "--max-output-tokens", "512", "--max-tool-calls-per-response", "3",
        ]).resolve(environment: [:])
        let expected = ServerLimits(
            maxConnections: 0,
            maxConnectionsPerAddress: 3,
            maxConnectionsPerSession: 2,
            maxMessagesPerSecond: 5,
            maxResumesPerSecond: 1,
            maxTurnsPerMinute: 0,
            maxConcurrentTurns: 4,
            maxConcurrentImports: 1,
            maxMCPSessions: 7,
            mcpSessionIdleTimeout: .seconds(30),
            headerTimeout: .seconds(2),
            idleTimeout: .seconds(9)
        )
        #expect(flags.server.limits == expected)
        #expect(flags.agent.maxOutputTokens == 512)
        #expect(flags.agent.maxToolCallsPerResponse == 3)

        let environment = [
            "BEDSIDE_MAX_CONNECTIONS": "0", "BEDSIDE_MAX_CONNECTIONS_PER_ADDRESS": "3",
            "BEDSIDE_MAX_CONNECTIONS_PER_SESSION": "2", "BEDSIDE_MAX_MESSAGES_PER_SECOND": "5",
            "BEDSIDE_MAX_RESUMES_PER_SECOND": "1", "BEDSIDE_MAX_TURNS_PER_MINUTE": "0",
            "BEDSIDE_MAX_CONCURRENT_TURNS": "4", "BEDSIDE_MAX_CONCURRENT_IMPORTS": "1",
            "BEDSIDE_MAX_MCP_SESSIONS": "7", "BEDSIDE_MCP_SESSION_IDLE_SECONDS": "30",
            "BEDSIDE_HEADER_TIMEOUT_SECONDS": "2", "BEDSIDE_IDLE_TIMEOUT_SECONDS": "9",
            "BEDSIDE_MAX_OUTPUT_TOKENS": "512", "BEDSIDE_MAX_TOOL_CALLS_PER_RESPONSE": "3",
        ]
        let variables = try Options.parse([]).resolve(environment: environment)
        #expect(variables.server.limits == expected)
        #expect(variables.agent.maxOutputTokens == 512)
        // A flag wins over its variable.
        let both = try Options.parse(["--max-connections-per-session", "9"]).resolve(environment: environment)
        #expect(both.server.limits.maxConnectionsPerSession == 9)
    }

    @Test(arguments: [
        ["--max-connections=-1"], ["--header-timeout-seconds", "0"], ["--max-output-tokens", "0"],
    ])
    func aNegativeCountOrAZeroTimeoutIsAUsageError(_ arguments: [String]) throws {
        #expect(throws: ValidationError.self) { try Options.parse(arguments).resolve(environment: [:]) }
    }

    @Test func aBadVariableIsNamedInTheError() throws {
        do {
            _ = try Options.parse([]).resolve(environment: ["BEDSIDE_MAX_CONCURRENT_TURNS": "many"])
            Issue.record("a non-integer variable was accepted")
        } catch let error as ValidationError {
            #expect(error.message.contains("BEDSIDE_MAX_CONCURRENT_TURNS"))
        }
    }

    @Test func hostsAndProxiesAreListsAndThePublicURLsHostIsAllowed() throws {
        let settings = try Options.parse([
            "--allowed-hosts", "bedside.example.org, 10.0.0.5 ,", "--trusted-proxies", "10.0.0.0/8,::1",
            "--public-url", "https://chat.example.org:8443",
        ]).resolve(environment: [:])
        #expect(settings.server.allowedHosts == ["bedside.example.org", "10.0.0.5", "chat.example.org"])
        #expect(settings.server.trustedProxies == ["10.0.0.0/8", "::1"])
        let fromEnvironment = try Options.parse([]).resolve(environment: [
            "BEDSIDE_ALLOWED_HOSTS": "a.example", "BEDSIDE_TRUSTED_PROXIES": "127.0.0.1",
        ])
        #expect(fromEnvironment.server.allowedHosts == ["a.example"])
        #expect(fromEnvironment.server.trustedProxies == ["127.0.0.1"])
    }
}
