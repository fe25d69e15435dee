import ArgumentParser

/// The executable's entry: `bedside-bench floor-server …` runs the floor server (started by the
/// benchmark itself, not listed in `--help`); anything else is a benchmark run.
@main
enum BedsideBenchEntry {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == FloorServerCommand.configuration.commandName {
            await FloorServerCommand.main(Array(arguments.dropFirst()))
        } else {
            await BedsideBench.main(arguments)
        }
    }
}
