import BedsideCore
import Foundation
import MCP
import Tracing

extension MCPServerConnection {
    /// How one tool call ended.
    enum Outcome: Sendable {
        case result(CallTool.Result)
        case failed(String)
        case died(String)
        case timedOut
        case cancelled
    }

    /// What the model reads for an outcome: the result, or an error naming the server.
    static func output(_ outcome: Outcome, server: String, tool: String, timeout: Duration) -> ToolOutput {
        switch outcome {
        case .result(let result):
            return ToolOutput(content: result.modelText, isError: result.isError ?? false)
        case .failed(let message):
            return ToolOutput(content: "The MCP server \(server) could not run \(tool): \(message)", isError: true)
        case .died(let reason):
            return ToolOutput(
                content: "The MCP server \(server) stopped while running \(tool) (\(reason)); Bedside is reconnecting.",
                isError: true
            )
        case .timedOut:
            return ToolOutput(
                content: "The MCP server \(server) did not answer \(tool) within \(timeout.seconds) s; the call was cancelled.",
                isError: true
            )
        case .cancelled:
            return ToolOutput(content: "The call to \(tool) on \(server) was cancelled.", isError: true)
        }
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

extension Duration {
    var seconds: String {
        let (whole, fraction) = components
        let value = Double(whole) + Double(fraction) / 1e18
        return value == value.rounded() ? String(Int64(value)) : String(format: "%.1f", value)
    }
}
