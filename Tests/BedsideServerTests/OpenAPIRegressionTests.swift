import BedsideCore
import BedsideServer
import Foundation
import Testing

/// What schemathesis found when it first ran against docs/openapi.yaml (scripts/openapi-tests.sh),
/// each reproduced over a real socket.
@Suite struct OpenAPIRegressionTests {
    /// `POST /keys` on a server without `--auth keys` answered 400 `invalid_message` whose message
    /// was the debug description of the 404 it meant (`APIError(status: 404 Not Found, …)`). It
    /// answers 404 `not_found` like `GET /keys`, whatever the body.
    @Test func creatingAKeyWithKeysOffIsNotFound() async throws {
        let server = try await LiveServer.start()
        for body in [#"{"name": "ward-scraper", "role": "auditor"}"#, "not json"] {
            let answer = try await server.post("/keys", body: Data(body.utf8), headers: ["Content-Type": "application/json"])
            #expect(answer.status == 404, "\(body): \(answer.status) \(answer.body)")
            let error = try JSONValue.parse(answer.body)
            #expect(error["code"] == .string("not_found"))
            #expect(error["error"] == .string("API keys are not enabled on this server (--auth keys)."))
        }
        try await server.stop()
    }

    /// A key the database refuses (a bad or taken name) is 400 with the database's own sentence,
    /// not a type's description.
    @Test func aRefusedKeyNameIsABadRequestInPlainWords() async throws {
        let rig = try await AuthRig.start()
        let bad = try await rig.request("POST", "/keys", as: "ada", body: #"{"name": "bad name!", "role": "clinician"}"#)
        #expect(bad.status == 400, "\(bad.body)")
        let error = try JSONValue.parse(bad.body)
        #expect(error["code"] == .string("invalid_message"))
        #expect(error["error"]?.stringValue?.hasPrefix("A key name is 1 to 64") == true, "\(bad.body)")

        let taken = try await rig.request("POST", "/keys", as: "ada", body: #"{"name": "alice", "role": "clinician"}"#)
        #expect(taken.status == 400, "\(taken.body)")
        #expect(
            try JSONValue.parse(taken.body)["error"] == .string(#"A key named "alice" exists; revoke it first or choose another name."#)
        )
        try await rig.stop()
    }
}
