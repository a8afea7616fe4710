/// Lets the loop sleep until the next poll, or wake early when a reload is requested
/// (SIGHUP) or the task is cancelled (graceful shutdown). A request made while the loop is
/// busy is kept and honoured at the next wait, so no SIGHUP is lost.
actor CycleWakeup {
    private var pendingReload = false
    private var waiter: (id: UInt64, continuation: CheckedContinuation<Bool, Never>)?
    private var nextID: UInt64 = 0

    func requestReload() {
        if let waiter {
            self.waiter = nil
            waiter.continuation.resume(returning: true)
        } else {
            pendingReload = true
        }
    }

    /// True when woken by a reload request; false after `duration` or on cancellation.
    func wait(for duration: Duration) async -> Bool {
        if pendingReload {
            pendingReload = false
            return true
        }
        nextID += 1
        let id = nextID
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(returning: false)
                    return
                }
                waiter = (id, continuation)
                Task {
                    try? await Task.sleep(for: duration)
                    self.finish(id: id)
                }
            }
        } onCancel: {
            Task { await self.finish(id: id) }
        }
    }

    private func finish(id: UInt64) {
        guard let waiter, waiter.id == id else { return }
        self.waiter = nil
        waiter.continuation.resume(returning: false)
    }
}
