import ArgumentParser
import BedsideAuth
import Foundation

/// `bedside keys`: API keys for service accounts (`--auth keys`). A key is printed once, when
/// it is made; only its hash is stored. A revoked key is refused at once, and a running server
/// closes the sockets opened with it within seconds.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys (--auth keys).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    /// The auth database the server's `--auth-database` (or `BEDSIDE_AUTH_DATABASE`) names.
    /// The option is the main command's: `bedside keys list --auth-database FILE` reads it there.
    static func open(_ bedside: Bedside) throws -> AuthDatabase {
        try AuthDatabase(
            path: bedside.options.identity.authDatabase ?? ProcessEnvironment.current["BEDSIDE_AUTH_DATABASE"]
                ?? "./bedside-auth.sqlite"
        )
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key and print it once.")

        @ParentCommand var bedside: Bedside
        @Option(help: "A name for the key (1–64 of A-Z, a-z, 0-9, '_', '.', '-'), unique among keys in use.")
        var name: String
        @Option(help: "The key's role: clinician, importer, auditor or admin.")
        var role: String

        func run() throws {
            guard let role = Role(rawValue: role.lowercased()) else {
                throw ValidationError("--role must be clinician, importer, auditor or admin, not '\(role)'.")
            }
            let created = try KeysCommand.open(bedside).createKey(name: name, role: role, now: Date())
            print(created.secret)
            FileHandle.standardError.write(
                Data("Key \(created.record.id) '\(name)' (\(role.rawValue)): store it now, it is not shown again.\n".utf8)
            )
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys: id, name, role, created, last used, revoked.")

        @ParentCommand var bedside: Bedside

        func run() throws {
            let keys = try KeysCommand.open(bedside).keys()
            if keys.isEmpty { print("No API keys.") }
            for key in keys {
                var line = "\(key.id)  \(key.name)  \(key.role.rawValue)  created \(Self.format(key.createdAt))"
                line += "  last used \(key.lastUsedAt.map(Self.format) ?? "never")"
                if let revoked = key.revokedAt { line += "  revoked \(Self.format(revoked))" }
                print(line)
            }
        }

        static func format(_ date: Date) -> String {
            date.formatted(.iso8601)
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id or name.")

        @ParentCommand var bedside: Bedside
        @Argument(help: "The key's id or name.")
        var key: String

        func run() throws {
            guard let revoked = try KeysCommand.open(bedside).revokeKey(key, now: Date()) else {
                FileHandle.standardError.write(Data("No key in use is named or numbered '\(key)'.\n".utf8))
                throw ExitCode.failure
            }
            print("Revoked \(revoked.id) '\(revoked.name)'.")
        }
    }
}
