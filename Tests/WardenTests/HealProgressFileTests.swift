import Foundation
import Testing

@testable import Warden

/// The `progress` file beside the state file: what `polaris-warden status` prints while a long
/// heal runs.
@Suite struct HealProgressFileTests {
    @Test func aHealInProgressIsReadBackAndGoneWhenItEnds() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = StateStore(path: directory.appendingPathComponent("state.json").path)
        #expect(store.loadProgress() == nil)
        store.saveProgress("healing 312/800 (10/s, ~49 s left)")
        #expect(store.loadProgress() == "healing 312/800 (10/s, ~49 s left)")
        #expect(store.progressPath == directory.appendingPathComponent("progress").path)
        // A file left by a warden that died mid-heal is not shown forever.
        #expect(store.loadProgress(maximumAge: -1) == nil)
        store.saveProgress(nil)
        #expect(store.loadProgress() == nil)
        #expect(!FileManager.default.fileExists(atPath: store.progressPath))
    }
}
