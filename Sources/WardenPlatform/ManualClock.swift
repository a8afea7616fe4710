import Synchronization

/// A clock that moves only when told (`advance(by:)`): sleepers wake in deadline order as time
/// passes them. For tests and the fuzz/bench harnesses; the daemon runs on ``SystemClock``.
public final class ManualClock: WallClock {
    private struct Sleeper {
        var id: Int
        var deadline: WallInstant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: WallInstant
        var sleepers: [Sleeper] = []
        var nextID = 0
    }

    private let state: Mutex<State>

    /// Starts at `start` (default 2026-01-01T00:00:00Z: a date with no meaning, far from 1970).
    public init(start: WallInstant = WallInstant(secondsSince1970: 1_767_225_600)) {
        state = Mutex(State(now: start))
    }

    public var now: WallInstant { state.withLock { $0.now } }

    public var minimumResolution: Duration { .zero }

    /// How many tasks are sleeping on this clock (tests wait for a sleeper before advancing).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: WallInstant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let wakeNow: Bool = state.withLock { state in
                    if Task.isCancelled || deadline <= state.now { return true }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return false
                }
                if wakeNow { continuation.resume() }
            }
            try Task.checkCancellation()
        } onCancel: {
            let cancelled = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward by `duration`, waking every sleeper whose deadline is reached, earliest
    /// first.
    public func advance(by duration: Duration) {
        advance(to: now.advanced(by: duration))
    }

    /// Moves time to `instant` (never backwards), waking the sleepers it passes, earliest first.
    public func advance(to instant: WallInstant) {
        let due = state.withLock { state -> [Sleeper] in
            if instant > state.now { state.now = instant }
            let due = state.sleepers.filter { $0.deadline <= state.now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= state.now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits (yielding, up to about `limit` of real time) until at least `count` tasks sleep on
    /// this clock: the handshake before `advance` in a test that drives a loop.
    public func waitForSleepers(_ count: Int = 1, limit: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while sleeperCount < count {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }
}
