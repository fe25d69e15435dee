import MCP
import Testing

@testable import BedsideMCP

@Suite("Which MCP tools the model sees")
struct ToolExposureTests {
    static let schema: Value = .object(["type": "object"])

    @Test("read-only by annotation or by a reading verb; writes only when allow-listed")
    func readOnlyRule() {
        let aidbox = ["read-fhir-resource", "search-fhir-resources", "validate-fhir-resource", "getVitals", "list_files"]
        for name in aidbox {
            #expect(ToolExposure.isOffered(Tool(name: name, description: nil, inputSchema: Self.schema), allowTools: []))
        }
        let writes = ["create-fhir-resource", "update-fhir-resource", "delete-fhir-resource", "readjust"]
        for name in writes {
            #expect(!ToolExposure.isOffered(Tool(name: name, description: nil, inputSchema: Self.schema), allowTools: []))
        }
        #expect(
            ToolExposure.isOffered(
                Tool(name: "create-fhir-resource", description: nil, inputSchema: Self.schema),
                allowTools: ["create-fhir-resource"]
            )
        )
        #expect(ToolExposure.isOffered(Tool(name: "delete", description: nil, inputSchema: Self.schema), allowTools: ["*"]))
        let annotated = Tool(name: "compute", description: nil, inputSchema: Self.schema, annotations: .init(readOnlyHint: true))
        #expect(ToolExposure.isOffered(annotated, allowTools: []))
        let denied = Tool(name: "get_and_delete", description: nil, inputSchema: Self.schema, annotations: .init(readOnlyHint: false))
        #expect(!ToolExposure.isOffered(denied, allowTools: []))
    }

    @Test("offered names fit OpenAI's rule and stay distinct")
    func names() {
        #expect(ToolExposure.offeredName(server: "aidbox", tool: "read-fhir-resource") == "aidbox__read-fhir-resource")
        #expect(ToolExposure.offeredName(server: "my server", tool: "files/read.v2") == "my_server__files_read_v2")
        let long1 = ToolExposure.offeredName(server: String(repeating: "s", count: 40), tool: String(repeating: "t", count: 40) + "1")
        let long2 = ToolExposure.offeredName(server: String(repeating: "s", count: 40), tool: String(repeating: "t", count: 40) + "2")
        #expect(long1.count <= 64 && long2.count <= 64 && long1 != long2)
        #expect(long1.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
    }
}
