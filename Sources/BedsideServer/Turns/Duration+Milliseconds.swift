extension Duration {
    /// The duration in milliseconds, as the `duration_ms` fields carry it.
    var milliseconds: Double { self / .milliseconds(1) }
}
