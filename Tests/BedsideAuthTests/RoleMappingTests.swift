import BedsideAuth
import BedsideCore
import Foundation
import Testing

/// Roles from a claim, and the principal of a verified token.
@Suite struct RoleMappingTests {
    @Test func anArrayClaimGrantsItsKnownRoles() {
        let mapping = RoleMapping()
        #expect(mapping.roles(from: ["roles": ["Importer", "auditor", "superuser", 7]]) == [.importer, .auditor])
        #expect(mapping.roles(from: ["roles": ["ADMIN"]]) == [.admin])
    }

    @Test func aStringClaimIsSplitAtSpacesAndCommas() {
        let mapping = RoleMapping()
        #expect(mapping.roles(from: ["roles": "clinician importer"]) == [.clinician, .importer])
        #expect(mapping.roles(from: ["roles": "auditor,admin"]) == [.auditor, .admin])
        #expect(mapping.roles(from: ["roles": " admin ,  clinician\tImporter "]) == [.admin, .clinician, .importer])
    }

    @Test func aDottedPathReachesIntoObjects() {
        let mapping = RoleMapping(claim: "realm_access.roles", defaultRole: .auditor)
        let claims: [String: JSONValue] = ["realm_access": ["roles": ["offline_access", "importer"]]]
        #expect(mapping.roles(from: claims) == [.importer])
        #expect(mapping.roles(from: ["realm_access": ["other": ["admin"]]]) == [.auditor])
        #expect(mapping.roles(from: ["realm_access": "admin"]) == [.auditor])
        // A claim whose own name has dots is taken whole.
        let namespaced = RoleMapping(claim: "https://bedside.example/roles")
        #expect(namespaced.roles(from: ["https://bedside.example/roles": ["admin"]]) == [.admin])
    }

    @Test func anAbsentOrEmptyClaimGivesTheDefaultRole() {
        #expect(RoleMapping().roles(from: [:]) == [.clinician])
        #expect(RoleMapping(defaultRole: .auditor).roles(from: ["roles": ["nurse", "doctor"]]) == [.auditor])
        #expect(RoleMapping().roles(from: ["roles": ""]) == [.clinician])
        #expect(RoleMapping().roles(from: ["roles": 1]) == [.clinician])
        #expect(RoleMapping(claim: "groups").roles(from: ["roles": ["admin"]]) == [.clinician])
    }

    @Test func thePrincipalsNameComesFromTheFirstNameClaim() {
        func token(_ claims: [String: JSONValue]) -> VerifiedToken {
            VerifiedToken(issuer: "https://id.example", subject: "sub-1", audiences: ["bedside"], expiresAt: Date(), claims: claims)
        }
        let mapping = RoleMapping()
        let full = mapping.principal(from: token(["name": "Alice", "preferred_username": "alice", "email": "a@x", "roles": ["admin"]]))
        #expect(full == Principal(issuer: "https://id.example", subject: "sub-1", name: "Alice", roles: [.admin]))
        #expect(full.key == Principal.key(issuer: "https://id.example", subject: "sub-1"))
        #expect(mapping.principal(from: token(["name": "", "preferred_username": "alice", "email": "a@x"])).name == "alice")
        #expect(mapping.principal(from: token(["email": "a@x"])).name == "a@x")
        let bare = mapping.principal(from: token([:]))
        #expect(bare.name == "sub-1")
        #expect(bare.roles == [.clinician])
    }
}
