/// What the state file would hold, as one number: the supervisor compares it with the digest of
/// the state it last wrote, instead of keeping a copy of that state (a second copy of every
/// record, 13–20 MB at 10,000 jobs) or encoding the state every cycle.
///
/// In a steady state nothing persisted changes, and encoding plus fsync of 10,000 records every
/// cycle was a quarter of the warden's CPU time. Only the members that `JobReconciler`,
/// `JobRecord` and `WardenState` encode are hashed here (in-memory counters such as
/// `healthyCycles` change every cycle and are not persisted). Keep this in step with their
/// `Codable` conformances; the supervisor also rewrites an unchanged file every
/// `JobSupervisor.unchangedRewriteInterval`, so a member forgotten here (or a 64-bit
/// collision) makes a change late on disk, never lost.
public struct PersistedDigest: Hashable, Sendable {
    var schemaVersion: Int
    var count: Int
    /// The wrapping sum of one hash per (name, record): independent of the dictionary's order.
    var sum: UInt64
}

extension WardenState {
    var persistedDigest: PersistedDigest {
        var sum: UInt64 = 0
        for (name, record) in jobs {
            var hasher = Hasher()
            hasher.combine(name)
            record.hashPersisted(into: &hasher)
            sum &+= UInt64(UInt(bitPattern: hasher.finalize()))
        }
        return PersistedDigest(schemaVersion: schemaVersion, count: jobs.count, sum: sum)
    }
}

extension JobRecord {
    func hashPersisted(into hasher: inout Hasher) {
        hasher.combine(pendingCreate)
        hasher.combine(specCheck)
        reconciler.hashPersisted(into: &hasher)
        // Sample times and counts change every sample; the stall verdict is what must not be
        // late on disk (the rest is rewritten within `unchangedRewriteInterval`).
        hasher.combine(stall?.jobID)
        hasher.combine(stall?.stalledSince)
        hasher.combine(stall?.replacedForStall)
    }
}

extension JobReconciler {
    func hashPersisted(into hasher: inout Hasher) {
        hasher.combine(jobName)
        hasher.combine(jobID)
        hasher.combine(needsReplaceRunning)
        hasher.combine(recoveries)
        hasher.combine(budget)
        hasher.combine(markers)
        hasher.combine(phase)
    }
}
