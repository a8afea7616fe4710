import WardenPlatform

extension ManualClock {
    /// The scenario tests count in seconds of configuration (`pollIntervalSeconds`).
    func advance(seconds: Double) { advance(by: .seconds(seconds)) }
}
