/// One warden per Polaris project on a host: the instance of the template unit
/// `polaris-warden@NAME.service`, and the paths that unit gives it.
///
/// The unit sets `WARDEN_INSTANCE=NAME` (`Environment=WARDEN_INSTANCE=%i`); the daemon adds it
/// to every journal entry as the field `WARDEN_INSTANCE`, so alerts tell projects apart. The
/// plain `polaris-warden.service` sets nothing and its entries carry no such field.
public struct WardenInstance: Sendable, Equatable, CustomStringConvertible {
    /// The environment variable the template unit sets, and the journal field it becomes.
    public static let environmentVariable = "WARDEN_INSTANCE"

    /// The instance name (`%i`).
    public let name: String

    /// `name`, or an error when it cannot be a file-name part: empty, a `/`, a leading `.` or a
    /// control character. (systemd escapes such names in unit names; a path must not hold them.)
    public init(_ name: String) throws(InvalidName) {
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/"),
            !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { throw InvalidName(name: name) }
        self.name = name
    }

    /// The instance this process runs as: `WARDEN_INSTANCE` when set, non-empty and valid.
    public static func current(environment: [String: String]) -> WardenInstance? {
        guard let value = environment[environmentVariable], !value.isEmpty else { return nil }
        return try? WardenInstance(value)
    }

    /// `/etc/polaris-warden/NAME.json` (`--config` in the unit's `ExecStart=`).
    public var configPath: String { "/etc/polaris-warden/\(name).json" }
    /// `/etc/polaris-warden/NAME.api-key` (the unit's `LoadCredential=polaris-api-key:…`).
    public var credentialPath: String { "/etc/polaris-warden/\(name).api-key" }
    /// `/var/lib/polaris-warden-NAME` (`StateDirectory=polaris-warden-%i`).
    public var stateDirectory: String { "/var/lib/polaris-warden-\(name)" }
    /// `polaris-warden@NAME.service`.
    public var unitName: String { "polaris-warden@\(name).service" }

    public var description: String { name }

    public struct InvalidName: Error, CustomStringConvertible {
        public var name: String
        public var description: String {
            "invalid instance name '\(name)': it names files (/etc/polaris-warden/NAME.json), "
                + "so it must be non-empty, without '/', control characters or a leading '.'"
        }
    }
}
