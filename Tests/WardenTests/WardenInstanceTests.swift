import Foundation
import Testing
import Warden

/// `polaris-warden@NAME.service`: the paths of an instance match the template unit, and a name
/// that cannot be part of a file name is refused.
@Suite struct WardenInstanceTests {
    @Test func pathsFollowTheTemplateUnit() throws {
        let instance = try WardenInstance("project-a")
        #expect(instance.configPath == "/etc/polaris-warden/project-a.json")
        #expect(instance.credentialPath == "/etc/polaris-warden/project-a.api-key")
        #expect(instance.stateDirectory == "/var/lib/polaris-warden-project-a")
        #expect(instance.unitName == "polaris-warden@project-a.service")
    }

    /// The unit file is the other half of the contract: its paths must be the ones above.
    @Test func templateUnitUsesTheSamePaths() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let unit = try String(
            contentsOf: repository.appendingPathComponent("systemd/polaris-warden@.service"), encoding: .utf8)
        let lines = Set(unit.split(separator: "\n").map(String.init))
        #expect(lines.contains("ExecStart=/usr/bin/polaris-warden run --config /etc/polaris-warden/%i.json"))
        #expect(lines.contains("LoadCredential=polaris-api-key:/etc/polaris-warden/%i.api-key"))
        #expect(lines.contains("StateDirectory=polaris-warden-%i"))
        #expect(lines.contains("Environment=\(WardenInstance.environmentVariable)=%i"))
    }

    @Test(arguments: ["", ".hidden", "a/b", "..", "tab\there", "nul\u{0}"])
    func unusableNamesAreRefused(_ name: String) {
        #expect(throws: WardenInstance.InvalidName.self) { try WardenInstance(name) }
    }

    @Test func currentComesFromTheEnvironment() {
        #expect(WardenInstance.current(environment: ["WARDEN_INSTANCE": "b"])?.name == "b")
        #expect(WardenInstance.current(environment: ["WARDEN_INSTANCE": ""]) == nil)
        #expect(WardenInstance.current(environment: ["WARDEN_INSTANCE": "x/y"]) == nil)
        #expect(WardenInstance.current(environment: [:]) == nil)
    }
}
