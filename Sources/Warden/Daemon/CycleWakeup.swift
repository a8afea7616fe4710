import Synchronization
import WardenPlatform

/// Lets the loop sleep until the next poll on the warden's clock, or wake early when a reload
/// is requested (SIGHUP) or the task is cancelled (graceful shutdown). A request made while the
/// loop is busy is kept and honoured at the next wait, so no SIGHUP is lost.
final class CycleWakeup: Sendable {
    private struct State {
        var pendingReload = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Bool, Never>)?
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    func requestReload() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter else {
                state.pendingReload = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: true)
    }

    /// True when woken by a reload request; false at `deadline` on `clock` or on cancellation.
    /// Both waits are child tasks; a request that lands as the deadline passes still counts.
    func wait(until deadline: WallInstant, on clock: any WallClock) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.reloadRequested() }
            group.addTask {
                try? await clock.sleep(until: deadline, tolerance: nil)
                return false
            }
            var reload = await group.next() ?? false
            group.cancelAll()
            for await other in group { reload = reload || other }
            return reload
        }
    }

    /// Suspends until a reload is requested (true) or the task is cancelled (false).
    private func reloadRequested() async -> Bool {
        let id = state.withLock { state -> UInt64? in
            if state.pendingReload {
                state.pendingReload = false
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return true }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.waiter = (id, continuation)
                    return false
                }
                if cancelled { continuation.resume(returning: false) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume(returning: false)
        }
    }
}
