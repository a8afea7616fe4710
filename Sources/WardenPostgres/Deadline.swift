import Synchronization

/// The deadline passed before the work answered.
struct DeadlineExpired: Error {}

/// Runs `work` in a task of its own and answers with its result, or with `DeadlineExpired` once
/// `deadline` has passed, whichever comes first. The caller never waits for the loser. libpq's
/// work (`PQConnection`) ends by the same deadline on its own, closing its connection; this
/// answers in time even when that work cannot start or stop in time: a host name lookup that
/// libpq does synchronously, or the work queued behind one that hangs in it.
///
/// The caller's cancellation does not cut the call short: it ends by `deadline` anyway, and a
/// clean stop's `release` typically runs in a task that is already cancelled.
func withDeadline<Value: Sendable>(
    _ deadline: ContinuousClock.Instant,
    _ work: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let first = FirstAnswer<Value>()
    let worker = Task {
        do {
            first.answer(.success(try await work()))
        } catch {
            first.answer(.failure(error))
        }
    }
    let timer = Task {
        do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
        if first.answer(.failure(DeadlineExpired())) {
            worker.cancel()
        }
    }
    defer { timer.cancel() }
    return try await withCheckedThrowingContinuation { continuation in
        first.deliver(to: continuation)
    }
}

/// The first of several answers, handed to a continuation that may be installed before or after
/// it arrives; later answers are ignored.
private final class FirstAnswer<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, any Error>)
        case answered(Result<Value, any Error>)
        case delivered
    }

    private let state = Mutex(State.empty)

    /// Records `result` unless an answer came first; true when this one counts.
    @discardableResult
    func answer(_ result: Result<Value, any Error>) -> Bool {
        let (counts, waiting): (Bool, CheckedContinuation<Value, any Error>?) = state.withLock { state in
            switch state {
            case .empty:
                state = .answered(result)
                return (true, nil)
            case .waiting(let continuation):
                state = .delivered
                return (true, continuation)
            case .answered, .delivered:
                return (false, nil)
            }
        }
        waiting?.resume(with: result)
        return counts
    }

    /// Resumes `continuation` with the answer, now or when it arrives.
    func deliver(to continuation: CheckedContinuation<Value, any Error>) {
        let ready: Result<Value, any Error>? = state.withLock { state in
            switch state {
            case .empty:
                state = .waiting(continuation)
                return nil
            case .answered(let result):
                state = .delivered
                return result
            case .waiting, .delivered:
                preconditionFailure("FirstAnswer delivered twice")
            }
        }
        if let ready { continuation.resume(with: ready) }
    }
}
