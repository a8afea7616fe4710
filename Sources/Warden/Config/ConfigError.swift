/// One thing wrong with a config file.
public struct ConfigProblem: Sendable, Hashable {
    /// The JSON path of the offending value, e.g. `jobs[2].spec.target.tableName`; for a key
    /// that is missing, the path it should have. Empty for problems with the file as a whole
    /// (unreadable, not JSON).
    public var path: String
    /// What is wrong and, where it helps, what to write instead. Never contains a secret.
    public var message: String
    /// 1-based position in the file: of the key (or array element) for a path, of the error
    /// for a syntax error. Nil when the file could not be read.
    public var line: Int?
    /// 1-based, counted in Unicode scalars (a tab is one column).
    public var column: Int?

    public init(path: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }
}

/// A rejected config: every problem found, in the order they appear in the file, so one run of
/// `polaris-warden check-config` lists them all.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// EX_CONFIG from sysexits.h: the exit status for a bad config, so that systemd's
    /// `RestartPreventExitStatus=` and scripts can tell "fix the config" from a crash.
    public static let exitCode: Int32 = 78

    /// What was read: the file path, or a label for an in-memory document.
    public var source: String
    public var problems: [ConfigProblem]

    public init(source: String, problems: [ConfigProblem]) {
        self.source = source
        self.problems = problems
    }

    /// One problem per line: `<source>: <path>: <message>`, `<source>:<line>:<column>: <message>`
    /// for a syntax error, `<source>: <message>` for the file as a whole (compiler style, so
    /// editors and CI annotate them).
    public var description: String {
        problems.map { problem in
            if !problem.path.isEmpty {
                return "\(source): \(problem.path): \(problem.message)"
            }
            if let line = problem.line, let column = problem.column {
                return "\(source):\(line):\(column): \(problem.message)"
            }
            return "\(source): \(problem.message)"
        }
        .joined(separator: "\n")
    }
}
