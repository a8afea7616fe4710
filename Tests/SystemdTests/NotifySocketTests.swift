import Glibc
import TestSupport
import Testing

@testable import Systemd

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
