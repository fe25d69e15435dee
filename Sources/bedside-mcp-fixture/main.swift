// A small MCP server on stdio for Bedside's tests. Its tools:
//   read_note      read-only (annotated): answers "note <id>"
//   get_vitals     read-only by its name (no annotations): echoes its arguments
//   write_note     a write tool (readOnlyHint false): answers "wrote <text>"
//   slow_read      read-only: waits `seconds` (default 30), for timeouts and cancellation
//   crash_read     read-only: exits the process (status 3) in the middle of the call
//   reveal_extra   read-only: adds read_extra to the list and sends tools/list_changed
// When BEDSIDE_FIXTURE_LOG names a file, every notifications/cancelled received and every
// cancelled slow_read is appended to it as a line.
import Foundation
import Logging
import MCP
import Synchronization

let logPath = ProcessInfo.processInfo.environment["BEDSIDE_FIXTURE_LOG"]
let revealed = Mutex(false)

func note(_ line: String) {
    guard let logPath else { return }
    let data = Data((line + "\n").utf8)
    if let handle = FileHandle(forWritingAtPath: logPath) {
        handle.seekToEndOfFile()
        handle.write(data)
        try? handle.close()
    } else {
        _ = FileManager.default.createFile(atPath: logPath, contents: data)
    }
}

func text(_ value: String, isError: Bool = false) -> CallTool.Result {
    CallTool.Result(content: [.text(text: value, annotations: nil, _meta: nil)], isError: isError)
}

let schema: Value = .object(["type": "object", "properties": .object([:])])
let readOnly = Tool.Annotations(readOnlyHint: true)
var tools = [
    Tool(name: "read_note", description: "Reads a note by id.", inputSchema: schema, annotations: readOnly),
    Tool(name: "get_vitals", description: "Echoes its arguments.", inputSchema: schema),
    Tool(
        name: "write_note",
        description: "Writes a note.",
        inputSchema: schema,
        annotations: .init(readOnlyHint: false, destructiveHint: false)
    ),
    Tool(name: "slow_read", description: "Waits a while.", inputSchema: schema, annotations: readOnly),
    Tool(name: "crash_read", description: "Dies mid-call.", inputSchema: schema, annotations: readOnly),
    Tool(name: "reveal_extra", description: "Adds read_extra.", inputSchema: schema, annotations: readOnly),
]
let baseTools = tools
let extraTool = Tool(name: "read_extra", description: "Appears later.", inputSchema: schema, annotations: readOnly)

let server = Server(
    name: "bedside-mcp-fixture",
    version: "1.0",
    capabilities: .init(tools: .init(listChanged: true))
)
await server.withMethodHandler(ListTools.self) { _ in
    ListTools.Result(tools: revealed.withLock { $0 } ? baseTools + [extraTool] : baseTools)
}
await server.onNotification(CancelledNotification.self) { message in
    note("notifications/cancelled \(message.params.requestId.map { "\($0)" } ?? "-")")
}
await server.withMethodHandler(CallTool.self) { params in
    let arguments = params.arguments ?? [:]
    switch params.name {
    case "read_note":
        return text("note \(arguments["id"]?.stringValue ?? "?")")
    case "get_vitals":
        let data = try JSONEncoder().encode(arguments)
        return text(String(decoding: data, as: UTF8.self))
    case "write_note":
        return text("wrote \(arguments["text"]?.stringValue ?? "")")
    case "slow_read":
        let seconds = arguments["seconds"]?.doubleValue ?? Double(arguments["seconds"]?.intValue ?? 30)
        do {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        } catch {
            note("slow_read cancelled")
            throw error
        }
        return text("slept \(seconds)")
    case "crash_read":
        try? await Task.sleep(for: .milliseconds(100))
        exit(3)
    case "reveal_extra":
        revealed.withLock { $0 = true }
        try await server.notify(ToolListChangedNotification.message())
        return text("revealed")
    case "read_extra":
        return text("extra")
    default:
        return text("unknown tool \(params.name)", isError: true)
    }
}
try await server.start(transport: StdioTransport(logger: Logger(label: "fixture")))
await server.waitUntilCompleted()
