import BedsideAuth
import BedsideCore
import Testing

/// Principal keys: stable per (issuer, subject), `local` for the local principal.
@Suite struct PrincipalTests {
    @Test func keyIsThirtyTwoHexDigitsOfIssuerAndSubject() {
        let key = Principal.key(issuer: "https://id.example", subject: "alice")
        #expect(key.count == 32)
        #expect(key.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(key != Principal.key(issuer: "https://id.example", subject: "bob"))
        #expect(key != Principal.key(issuer: "https://id.example/", subject: "alice"))
        #expect(Principal.local.key == "local")
    }
}
