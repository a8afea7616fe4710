import Foundation
import Testing
import Warden

/// The shipped alerting files (alerting/, docs/alerting.md) name only what the warden really
/// exports: journal MESSAGE_IDs of `WardenEvent`, metric names of `WardenMetrics`.
@Suite struct AlertingFilesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8)
    }

    /// The 32-hex-digit ids in `text`, in order.
    static func messageIDs(in text: String) -> [String] {
        text.matches(of: /"([0-9a-f]{32})"/).map { String($0.output.1) }
    }

    static let rsyslogConf = "alerting/rsyslog/polaris-warden-alerts.conf"

    @Test func rsyslogFilterMatchesCatalogIDs() throws {
        let conf = try Self.read(Self.rsyslogConf)
        let ids = Self.messageIDs(in: conf)
        #expect(!ids.isEmpty)
        for id in ids {
            #expect(WardenEvent.allCases.contains { $0.messageID == id }, "\(id) in \(Self.rsyslogConf) is no event")
        }
        // The page block holds every critical event (the warden stopped helping).
        let page = try #require(conf.range(of: "set $!ALERT_SEVERITY = \"page\""))
        let pageIDs = Set(Self.messageIDs(in: String(conf[..<page.lowerBound])))
        for event in WardenEvent.allCases where event.priority == .critical {
            #expect(pageIDs.contains(event.messageID), "\(event.rawValue) is critical but does not page")
        }
        // Routine events never reach the alert script.
        for event in [WardenEvent.started, .jobCreated, .jobRecreated, .jobResumed, .apiRecovered, .reloaded] {
            #expect(!ids.contains(event.messageID), "\(event.rawValue) would alert")
        }
    }

    @Test func prometheusRulesUseExportedMetrics() throws {
        let rules = try Self.read("alerting/prometheus/polaris-warden.rules.yml")
        let used = Set(rules.matches(of: /polaris_warden_[a-z_]+/).map { String($0.output) })
        #expect(used.count >= 4)
        for name in used {
            let base = name.replacing(/_(bucket|sum|count)$/, with: "")
            #expect(WardenMetrics.Name.all.contains(base), "\(name) is not a metric of WardenMetrics")
        }
    }
}
