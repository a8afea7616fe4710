import Logging
import PolarisAPI
import Systemd

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `polaris-warden doctor`: the read-only checks a new operator runs before enabling the unit.
///
/// Every check yields one ``DoctorCheck`` with a clear pass/fail line and, on failure, the fix.
/// Nothing is written anywhere: Polaris sees only GET requests and `POST /connections/{name}/test`
/// (a connection test changes nothing); no state file, no credential and no unit is touched.
public enum Doctor {
    public struct Options: Sendable {
        /// The configuration to check.
        public var configPath: String
        /// The instance of `polaris-warden@.service`, or nil for `polaris-warden.service`.
        public var instance: WardenInstance?
        /// The state directory the unit will use.
        public var stateDirectory: String
        /// Where unit files are looked up, first match wins (as systemd's unit path).
        public var unitDirectories: [String]
        /// The uid that must own a key file (root); tests pass their own.
        public var keyOwner: uid_t
        /// The process environment (`auth.env` keys, `$CREDENTIALS_DIRECTORY`).
        public var environment: [String: String]

        public init(
            configPath: String, instance: WardenInstance? = nil, stateDirectory: String,
            unitDirectories: [String] = Doctor.systemUnitDirectories, keyOwner: uid_t = 0,
            environment: [String: String] = [:]
        ) {
            self.configPath = configPath
            self.instance = instance
            self.stateDirectory = stateDirectory
            self.unitDirectories = unitDirectories
            self.keyOwner = keyOwner
            self.environment = environment
        }

        /// `polaris-warden.service` or `polaris-warden@NAME.service`.
        public var unitName: String { instance?.unitName ?? "polaris-warden.service" }
    }

    /// systemd's system unit path, most specific first.
    public static let systemUnitDirectories = [
        "/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
    ]

    /// Runs every check in order. Checks that need an earlier one (the API needs a config and a
    /// key) are reported as skipped when it failed.
    public static func run(_ options: Options) async -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        let config: WardenConfig
        do {
            config = try ConfigLoader.load(path: options.configPath)
            checks.append(
                .pass(
                    "config",
                    "\(options.configPath) is valid: \(config.connections.count) connection(s), \(config.jobs.count) job(s)"
                ))
        } catch {
            checks.append(
                .fail(
                    "config", "\(options.configPath): \(error)",
                    fix: "correct the listed JSON paths; polaris-warden check-config \(options.configPath)"))
            checks.append(stateCheck(options, unitFound: UnitFile.find(options) != nil))
            return checks
        }

        let unit = UnitFile.find(options)
        checks.append(unitCheck(options, unit: unit, config: config))

        let (keyCheck, settings) = resolveKey(config.polaris, options: options, unit: unit)
        checks.append(keyCheck)
        if let settings {
            checks += await polarisChecks(config: config, settings: settings, options: options)
        } else {
            checks.append(.skip("api", "not asked: no usable key"))
        }
        checks.append(stateCheck(options, unitFound: unit != nil))
        return checks
    }

    // MARK: The unit

    static func unitCheck(_ options: Options, unit: UnitFile?, config: WardenConfig) -> DoctorCheck {
        guard let unit else {
            return .warn(
                "unit",
                "\(options.unitName) is not installed here (looked in \(options.unitDirectories.joined(separator: ", ")))",
                fix: "install the polaris-warden package, or check the credential path of your own unit by hand")
        }
        if let configured = unit.configPath, configured != options.configPath {
            return .fail(
                "unit", "\(unit.path) runs --config \(configured), not \(options.configPath)",
                fix: "check the file the unit reads: polaris-warden doctor --config \(configured)")
        }
        if case .credential(let name) = config.polaris.auth.secretSource {
            guard let path = unit.credentials[name] else {
                let names = unit.credentials.keys.sorted().joined(separator: ", ")
                return .fail(
                    "unit",
                    "the config reads credential '\(name)', but \(options.unitName) loads only: \(names.isEmpty ? "none" : names)",
                    fix:
                        "use \"credential\": \"\(unit.credentials.keys.sorted().first ?? "polaris-api-key")\" in the config, "
                        + "or add LoadCredential=\(name):PATH with systemctl edit \(options.unitName)")
            }
            return .pass("unit", "\(unit.path) runs this config and hands credential '\(name)' from \(path)")
        }
        return .pass("unit", "\(unit.path) runs this config")
    }

    // MARK: The key

    /// The key check, and the Polaris settings with the secret made readable here (a credential
    /// is read from the file the unit's `LoadCredential=` names).
    static func resolveKey(_ polaris: PolarisSettings, options: Options, unit: UnitFile?) -> (
        DoctorCheck, PolarisSettings?
    ) {
        var settings = polaris
        let path: String
        switch polaris.auth.secretSource {
        case .env(let name):
            guard let value = options.environment[name], !value.isEmpty else {
                return (
                    .fail(
                        "key", "the config reads the key from $\(name), which is not set",
                        fix: "under systemd use \"credential\": \"polaris-api-key\" and /etc/polaris-warden/api-key"),
                    nil
                )
            }
            return (.warn("key", "read from $\(name) (development only)", fix: nil), settings)
        case .file(let file):
            path = file
        case .credential(let name):
            if let mapped = unit?.credentials[name] {
                path = mapped
            } else if let directory = options.environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
                path = directory + "/" + name
            } else {
                return (
                    .fail(
                        "key",
                        "credential '\(name)': no unit names its file (LoadCredential=) and no $CREDENTIALS_DIRECTORY",
                        fix: "install the unit, or run where $CREDENTIALS_DIRECTORY holds '\(name)'"),
                    nil
                )
            }
            settings.auth = polaris.auth.replacingSecretSource(with: .file(path))
        }
        var status = stat()
        guard stat(path, &status) == 0 else {
            let code = errno
            if code == ENOENT {
                return (
                    .fail(
                        "key", "\(path) does not exist",
                        fix: "install -m 0600 -o root -g root /dev/null \(path), then write the Polaris API key into it"
                    ),
                    nil
                )
            }
            return (
                .fail(
                    "key", "\(path): \(String(cString: strerror(code)))",
                    fix: "run doctor as root (sudo polaris-warden doctor ...)"), nil
            )
        }
        let mode = status.st_mode & 0o7777
        if status.st_uid != options.keyOwner || mode & 0o077 != 0 {
            let owner = status.st_uid == options.keyOwner ? "" : "owned by uid \(status.st_uid), "
            return (
                .fail(
                    "key",
                    "\(path) is \(owner)mode \(String(mode, radix: 8)): it must be readable by its owner (uid \(options.keyOwner)) only",
                    fix: "chown \(options.keyOwner) \(path) && chmod 0600 \(path)"),
                nil
            )
        }
        do {
            _ = try Credentials.readKeyFile(atPath: path)
        } catch {
            return (.fail("key", "\(error)", fix: "run doctor as root, and put the key (one line) into \(path)"), nil)
        }
        return (.pass("key", "\(path) is readable by its owner only (mode \(String(mode, radix: 8)))"), settings)
    }

    // MARK: Polaris

    static func polarisChecks(config: WardenConfig, settings: PolarisSettings, options: Options) async
        -> [DoctorCheck]
    {
        let client: PolarisClient
        do {
            client = PolarisClient(
                configuration: try SecretResolver.clientConfiguration(for: settings, environment: options.environment))
        } catch {
            return [.fail("api", "\(error)", fix: "correct polaris.url in \(options.configPath)")]
        }
        let logger = Logger(label: "polaris-warden-doctor", factory: { _ in SwiftLogNoOpLogHandler() })
        let supervisor = JobSupervisor(config: config, client: client, store: nil, logger: logger)
        let connections: [Connection]
        let plan: (connections: [ConnectionAction], jobs: [JobSupervisor.Decision])
        do {
            connections = try await client.listConnections()
            plan = try await supervisor.plan()
        } catch {
            if error.isAuthFailure {
                return [
                    .fail(
                        "api", "\(settings.url) answers, but rejects the key: \(error)",
                        fix:
                            "use a key of project \(settings.projectId) with ManageIngestionJobs and ManageConnections")
                ]
            }
            if error.status == 404 {
                return [
                    .fail(
                        "api", "\(settings.url) has no project \(settings.projectId): \(error)",
                        fix: "correct polaris.projectId (the project's id in the Polaris console)")
                ]
            }
            return [
                .fail(
                    "api", "\(settings.url) does not answer: \(error)",
                    fix: "check polaris.url, DNS, proxy and firewall from this host")
            ]
        }
        var checks: [DoctorCheck] = [
            .pass(
                "api",
                "\(settings.url) answers, accepts the key and lists project \(settings.projectId) "
                    + "(\(connections.count) connection(s), streaming jobs listed)")
        ]
        checks.append(await projectCheck(settings: settings, client: client))
        for desired in config.connections {
            checks.append(await connectionCheck(desired, existing: connections, plan: plan.connections, client: client))
        }
        for decision in plan.jobs {
            checks.append(jobCheck(decision))
        }
        return checks
    }

    static func projectCheck(settings: PolarisSettings, client: PolarisClient) async -> DoctorCheck {
        do {
            let project = try await client.getProject()
            let name = project.name.map { " (\($0))" } ?? ""
            guard project.state.runsJobs else {
                return .fail(
                    "project", "project \(settings.projectId)\(name) is \(project.state): its jobs do not run",
                    fix: "resume the project in the Polaris console; the warden holds every job write until then")
            }
            return .pass("project", "project \(settings.projectId)\(name) is running")
        } catch {
            return .fail(
                "project", "cannot read project \(settings.projectId): \(error)",
                fix: "check polaris.projectId and that the key may read the project")
        }
    }

    static func connectionCheck(
        _ desired: DesiredConnection, existing: [Connection], plan: [ConnectionAction], client: PolarisClient
    ) async -> DoctorCheck {
        let name = "connection \(desired.name)"
        guard existing.contains(where: { $0.name == desired.name }) else {
            if desired.managed {
                return .pass(name, "does not exist yet: the warden creates it at its first cycle")
            }
            return .fail(
                name, "declared \"managed\": false, but Polaris has no such connection",
                fix: "create it in Polaris, or declare it in full so the warden creates it")
        }
        var detail = "exists"
        if let update = plan.first(where: { $0.connectionName == desired.name }),
            case .update(_, _, let changes) = update
        {
            detail += "; the warden will update \(changes.keys.sorted().joined(separator: ", "))"
        }
        do {
            try await client.testConnection(named: desired.name)
            return .pass(name, detail + "; its connection test passes")
        } catch {
            return .fail(
                name, detail + "; its connection test fails: \(error.polarisMessage ?? "\(error)")",
                fix:
                    "check the stream, the awsEndpoint region and the trust policy of awsAssumedRoleArn (jobs on it cannot ingest)"
            )
        }
    }

    static func jobCheck(_ decision: JobSupervisor.Decision) -> DoctorCheck {
        let name = "job \(decision.job.name)"
        let next = decision.nextSteps
        guard let observed = decision.observed else {
            return .pass(name, "no job on table \(decision.job.table) yet: the warden creates one")
        }
        var detail =
            (decision.adopted ? "adopts" : "keeps") + " job \(observed.id) (\(observed.executionStatus.rawValue))"
        if decision.specDrifted { detail += ", whose spec differs from the config" }
        detail += next.isEmpty ? "; no change" : "; then: " + next.joined(separator: ", ")
        return .pass(name, detail)
    }

    // MARK: The state directory

    static func stateCheck(_ options: Options, unitFound: Bool) -> DoctorCheck {
        let directory = options.stateDirectory
        var status = stat()
        guard stat(directory, &status) == 0 else {
            if unitFound {
                return .pass("state", "\(directory) does not exist yet: systemd creates it (StateDirectory=) at start")
            }
            let parent =
                directory.lastIndex(of: "/").map { String(directory[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
            if access(parent, W_OK) == 0 {
                return .pass("state", "\(directory) does not exist yet; it can be made in \(parent)")
            }
            return .fail(
                "state", "\(directory) does not exist and \(parent) is not writable",
                fix: "mkdir -p \(directory), or pass --state-directory")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            return .fail("state", "\(directory) is not a directory", fix: "remove it; systemd makes the directory")
        }
        let store = StateStore(path: directory + "/state.json")
        if case .corrupt(let reason, _) = store.load(preserveCorrupt: false).1 {
            return .fail(
                "state", "\(store.path) is unusable: \(reason)",
                fix: "move it aside; the warden rebuilds its state by adopting the jobs")
        }
        guard access(directory, W_OK) == 0 else {
            return .fail(
                "state", "\(directory) is not writable by uid \(getuid())",
                fix: "run doctor as the user the warden runs as (root for the unit)")
        }
        return .pass("state", "\(directory) is a writable directory")
    }
}

/// One line of `polaris-warden doctor`.
public struct DoctorCheck: Sendable, Equatable, Encodable {
    public enum Status: String, Sendable, Encodable {
        case pass, warn, fail, skip
    }

    /// `config`, `unit`, `key`, `api`, `project`, `connection NAME`, `job NAME`, `state`.
    public var name: String
    public var status: Status
    public var detail: String
    /// What to do, for a warning or a failure.
    public var fix: String?

    static func pass(_ name: String, _ detail: String) -> DoctorCheck {
        DoctorCheck(name: name, status: .pass, detail: detail, fix: nil)
    }
    static func warn(_ name: String, _ detail: String, fix: String?) -> DoctorCheck {
        DoctorCheck(name: name, status: .warn, detail: detail, fix: fix)
    }
    static func fail(_ name: String, _ detail: String, fix: String) -> DoctorCheck {
        DoctorCheck(name: name, status: .fail, detail: detail, fix: fix)
    }
    static func skip(_ name: String, _ detail: String) -> DoctorCheck {
        DoctorCheck(name: name, status: .skip, detail: detail, fix: nil)
    }
}

extension AuthSettings {
    var secretSource: SecretSource {
        switch self {
        case .apiKey(let source): source
        case .oauth(_, let source, _): source
        }
    }

    func replacingSecretSource(with source: SecretSource) -> AuthSettings {
        switch self {
        case .apiKey: .apiKey(source)
        case .oauth(let clientID, _, let tokenURL): .oauth(clientId: clientID, secret: source, tokenURL: tokenURL)
        }
    }
}
