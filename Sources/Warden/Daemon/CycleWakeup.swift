import Synchronization
import WardenPlatform

/// Lets the loop sleep until the next poll on the warden's clock, or wake early when a reload
/// is requested (SIGHUP), the warden's role changes (`highAvailability`: a new leader acts at
/// once) or the task is cancelled (graceful shutdown). A request made while the loop is busy is
/// kept and honoured at the next wait, so no SIGHUP is lost.
final class CycleWakeup: Sendable {
    /// Why a wait ended.
    enum Reason: Sendable, Equatable {
        case deadline, reload, roleChange
    }

    private struct State {
        var pendingReload = false
        var pendingRoleChange = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Reason, Never>)?
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    func requestReload() { request(.reload) }

    func roleChanged() { request(.roleChange) }

    private func request(_ reason: Reason) {
        let waiter = state.withLock { state -> CheckedContinuation<Reason, Never>? in
            guard let waiter = state.waiter else {
                if reason == .reload { state.pendingReload = true } else { state.pendingRoleChange = true }
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: reason)
    }

    /// Why the wait ended: a reload or role-change request, or `deadline` on `clock` (also on
    /// cancellation). Both waits are child tasks; a request that lands as the deadline passes
    /// still counts, and a reload wins over a role change.
    func wait(until deadline: WallInstant, on clock: any WallClock) async -> Reason {
        await withTaskGroup(of: Reason.self) { group in
            group.addTask { await self.requested() }
            group.addTask {
                try? await clock.sleep(until: deadline, tolerance: nil)
                return .deadline
            }
            var reasons = [await group.next() ?? .deadline]
            group.cancelAll()
            for await other in group { reasons.append(other) }
            if reasons.contains(.reload) { return .reload }
            return reasons.contains(.roleChange) ? .roleChange : .deadline
        }
    }

    /// Suspends until a request comes (its reason) or the task is cancelled (`.deadline`).
    private func requested() async -> Reason {
        let (id, pending) = state.withLock { state -> (UInt64, Reason?) in
            if state.pendingReload {
                state.pendingReload = false
                return (0, .reload)
            }
            if state.pendingRoleChange {
                state.pendingRoleChange = false
                return (0, .roleChange)
            }
            state.nextID += 1
            return (state.nextID, nil)
        }
        if let pending { return pending }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Reason, Never>) in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.waiter = (id, continuation)
                    return false
                }
                if cancelled { continuation.resume(returning: .deadline) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Reason, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume(returning: .deadline)
        }
    }
}
