// Compiled into every fuzz target. `precondition` drops its message in optimised builds, and a
// failed property is only useful with the reason, so the harnesses check with `require`.

/// Stops the run, naming the broken property, when `condition` is false.
@inline(__always)
func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("fuzz property broken: \(message())", file: file, line: line) }
}
