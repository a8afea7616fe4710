/// Whether two states would be written as the same state file, compared without encoding.
///
/// The supervisor persists after every cycle; in a steady state nothing persisted changes, and
/// encoding (pretty-printed, sorted keys) plus fsync of 10,000 records every cycle was a quarter
/// of the warden's CPU time. Only the members that `JobReconciler`, `JobRecord` and
/// `WardenState` encode are compared here (in-memory counters such as `healthyCycles` change
/// every cycle and are not persisted). Keep this in step with their `Codable` conformances; the
/// supervisor also rewrites an unchanged file every `JobSupervisor.unchangedRewriteInterval`,
/// so a member forgotten here is late on disk, never lost.
extension WardenState {
    func persistsIdentically(to other: WardenState) -> Bool {
        guard schemaVersion == other.schemaVersion, jobs.count == other.jobs.count else { return false }
        for (name, record) in jobs {
            guard let theirs = other.jobs[name], record.persistsIdentically(to: theirs) else { return false }
        }
        return true
    }
}

extension JobRecord {
    func persistsIdentically(to other: JobRecord) -> Bool {
        pendingCreate == other.pendingCreate && specCheck == other.specCheck
            && reconciler.persistsIdentically(to: other.reconciler)
            // Sample times and counts change every sample; the stall verdict is what must not
            // be late on disk (the rest is rewritten within `unchangedRewriteInterval`).
            && stall?.jobID == other.stall?.jobID && stall?.stalledSince == other.stall?.stalledSince
            && stall?.replacedForStall == other.stall?.replacedForStall
    }
}

extension JobReconciler {
    func persistsIdentically(to other: JobReconciler) -> Bool {
        jobName == other.jobName && jobID == other.jobID && needsReplaceRunning == other.needsReplaceRunning
            && recoveries == other.recoveries && budget == other.budget && markers == other.markers
            && phase == other.phase
    }
}
