import Glibc
import Testing

/// Parent of every suite that changes process-global state (environment variables read by
/// libsystemd): `.serialized` applies to all suites nested in it, so they never overlap.
@Suite(.serialized)
struct ProcessEnvironmentTests {}

/// Sets (or, with nil, unsets) environment variables for the duration of `body`, then restores them.
@discardableResult
func withEnvironment<T>(_ values: [String: String?], _ body: () throws -> T) rethrows -> T {
    var saved: [String: String?] = [:]
    for (name, value) in values {
        saved[name] = getenv(name).map { String(cString: $0) }
        if let value {
            setenv(name, value, 1)
        } else {
            unsetenv(name)
        }
    }
    defer {
        for (name, value) in saved {
            if let value {
                setenv(name, value, 1)
            } else {
                unsetenv(name)
            }
        }
    }
    return try body()
}

/// A fresh private directory under /tmp (short, so AF_UNIX socket paths fit), removed by the caller.
func makeTemporaryDirectory(_ prefix: String = "pw-systemd-test") -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(result != nil, "mkdtemp failed")
    return String(cString: result!)
}

/// Removes a directory tree made by ``makeTemporaryDirectory(_:)``.
func removeTree(_ path: String) {
    precondition(path.hasPrefix("/tmp/"))
    var pid: pid_t = 0
    let args = ["/bin/rm", "-rf", path]
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for arg in argv { free(arg) } }
    if posix_spawn(&pid, "/bin/rm", nil, nil, &argv, environ) == 0 {
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
