import ArgumentParser
import BedsideFHIR
import Foundation

/// `bedside import FILE…`: imports FHIR files into the embedded store, as `POST /patient` does.
///
/// Each file is imported on its own, all or nothing; one line per file tells what was stored
/// (`patient <id>: Condition 10, Encounter 58, … (412 ms)`) or why it was refused. The command
/// fails when any file was refused.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import FHIR Patient resources or Bundles (one patient each) into the FHIR store.",
        discussion: "Every option can also be set by the environment variable shown; a flag wins over the environment."
    )

    @OptionGroup var clinical: ClinicalDataOptions

    @Argument(help: "JSON files, each a Patient or a Bundle holding one Patient.")
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("Name at least one file to import.") }
    }

    func run() async throws {
        let settings = try clinical.resolve(environment: ProcessEnvironment.current)
        let store = try FHIRStore(path: settings.databasePath)
        var failures = 0
        for file in files {
            switch await Self.importFile(file, into: store, maxBytes: settings.maxImportBytes) {
            case .success(let line):
                print(line)
            case .failure(let message):
                failures += 1
                FileHandle.standardError.write(Data("\(file): \(message)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }

    enum Outcome: Equatable {
        case success(String)
        case failure(String)
    }

    /// Imports one file and describes the result in one line.
    static func importFile(_ path: String, into store: FHIRStore, maxBytes: Int) async -> Outcome {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            return .failure("cannot read the file: \(error.localizedDescription)")
        }
        let started = ContinuousClock.now
        do {
            let imported = try await store.importPatient(data, maxBytes: maxBytes)
            let elapsed = (ContinuousClock.now - started).milliseconds
            let counts = imported.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return .success("patient \(imported.patientID): \(counts) (\(elapsed) ms)")
        } catch let error as FHIRImportError {
            return .failure("refused (\(error.status) \(error.code)): \(error.message)")
        } catch {
            return .failure("the import failed: \(error)")
        }
    }
}
