/// The time source of ``WatchdogService``, injected so tests drive it with a fake clock.
public protocol WatchdogClock: Sendable {
    /// Monotonic time since a fixed origin.
    func now() -> Duration
    /// Suspends for `duration`; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
}
