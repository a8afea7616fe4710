import Glibc
import Testing

@testable import Systemd

/// A bound AF_UNIX datagram socket standing in for systemd's notification socket.
final class FakeNotifySocket {
    let directory: String
    let path: String
    let fd: Int32

    init() throws {
        directory = makeTemporaryDirectory("pw-notify")
        path = directory + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(message: "socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SocketError(message: "path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw SocketError(message: "bind: errno \(errno)") }
    }

    deinit {
        close(fd)
        removeTree(directory)
    }

    /// The next datagram, or nil when none arrives within `timeoutMilliseconds`.
    func receive(timeoutMilliseconds: Int32 = 2000) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    struct SocketError: Error {
        let message: String
    }
}

extension ProcessEnvironmentTests {
    /// Byte-exact datagrams through the real `sd_notify` to a test NOTIFY_SOCKET.
    @Suite struct NotifySocketTests {
        /// Runs `body` with a notifier created while NOTIFY_SOCKET points at a fresh fake socket.
        func withNotifier(_ body: (SystemdNotifier, FakeNotifySocket) throws -> Void) throws {
            let socket = try FakeNotifySocket()
            try withEnvironment(["NOTIFY_SOCKET": socket.path]) {
                let notifier = SystemdNotifier()
                #expect(notifier.isEnabled)
                try body(notifier, socket)
            }
        }

        @Test func readyCarriesStatusInTheSameDatagram() throws {
            try withNotifier { notifier, socket in
                #expect(notifier.ready(status: "12 jobs: 12 running; API ok"))
                #expect(socket.receive() == "READY=1\nSTATUS=12 jobs: 12 running; API ok")
                #expect(notifier.ready())
                #expect(socket.receive() == "READY=1")
            }
        }

        @Test func statusIsSanitisedOnTheWire() throws {
            try withNotifier { notifier, socket in
                notifier.status("orders: retry in 40s\nREADY=1\r\n\tinjected")
                #expect(socket.receive() == "STATUS=orders: retry in 40s READY=1 injected")
                notifier.status(String(repeating: "x", count: 300))
                #expect(socket.receive() == "STATUS=" + String(repeating: "x", count: 197) + "…")
            }
        }

        @Test func reloadSequence() throws {
            try withNotifier { notifier, socket in
                let before = SystemdNotifier.monotonicMicroseconds()
                notifier.reloading()
                let after = SystemdNotifier.monotonicMicroseconds()
                let datagram = try #require(socket.receive())
                let lines = datagram.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count == 2)
                #expect(lines.first == "RELOADING=1")
                let stamp = try #require(lines.last?.split(separator: "=", maxSplits: 1))
                #expect(stamp.first == "MONOTONIC_USEC")
                let usec = try #require(UInt64(stamp.last ?? ""))
                #expect(usec >= before && usec <= after)

                notifier.ready(status: "config reloaded")
                #expect(socket.receive() == "READY=1\nSTATUS=config reloaded")

                notifier.reloading(monotonicMicroseconds: 42, status: "reloading")
                #expect(socket.receive() == "RELOADING=1\nMONOTONIC_USEC=42\nSTATUS=reloading")
            }
        }

        @Test func stoppingWatchdogExtendAndErrno() throws {
            try withNotifier { notifier, socket in
                notifier.stopping()
                #expect(socket.receive() == "STOPPING=1")
                notifier.stopping(status: "stopping: persisting state")
                #expect(socket.receive() == "STOPPING=1\nSTATUS=stopping: persisting state")
                notifier.watchdogPing()
                #expect(socket.receive() == "WATCHDOG=1")
                notifier.watchdogTrigger()
                #expect(socket.receive() == "WATCHDOG=trigger")
                notifier.extendTimeout(microseconds: 20_000_000)
                #expect(socket.receive() == "EXTEND_TIMEOUT_USEC=20000000")
                notifier.errno(78)
                #expect(socket.receive() == "ERRNO=78")
                #expect(socket.receive(timeoutMilliseconds: 50) == nil)
            }
        }

        @Test func noOpWhenNotifySocketIsUnsetAtInit() throws {
            let socket = try FakeNotifySocket()
            let notifier = withEnvironment(["NOTIFY_SOCKET": nil]) { SystemdNotifier() }
            #expect(!notifier.isEnabled)
            // The decision is cached: setting the variable later does not enable it.
            withEnvironment(["NOTIFY_SOCKET": socket.path]) {
                #expect(!notifier.ready(status: "x"))
                #expect(!notifier.watchdogPing())
                #expect(!notifier.stopping())
                #expect(socket.receive(timeoutMilliseconds: 100) == nil)
                #expect(SystemdNotifier().isEnabled)
            }
        }
    }
}
