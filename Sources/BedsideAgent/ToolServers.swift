import BedsideCore
import Synchronization

/// Which MCP server each tool of a turn comes from, so that the turn's tool events can say so.
final class ToolServers: Sendable {
    private let servers = Mutex<[String: String]>([:])

    func record(_ definitions: [ToolDefinition]) {
        var map: [String: String] = [:]
        for definition in definitions {
            if let server = definition.server { map[definition.name] = server }
        }
        servers.withLock { $0 = map }
    }

    /// `event` with its tool's server filled in.
    func annotate(_ event: AgentEvent) -> AgentEvent {
        switch event {
        case .toolCallStarted(let id, let name, let arguments, nil):
            guard let server = servers.withLock({ $0[name] }) else { return event }
            return .toolCallStarted(id: id, name: name, arguments: arguments, server: server)
        case .toolCallEnded(var report) where report.server == nil:
            guard let server = servers.withLock({ $0[report.toolName] }) else { return event }
            report.server = server
            return .toolCallEnded(report)
        default:
            return event
        }
    }
}
