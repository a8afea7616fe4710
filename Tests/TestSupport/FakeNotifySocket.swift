import Glibc

/// A bound AF_UNIX datagram socket standing in for systemd's notification socket
/// (`NOTIFY_SOCKET`), so tests read exactly what a daemon would have told systemd.
public final class FakeNotifySocket {
    public let directory: String
    public let path: String
    private let fd: Int32

    public struct SocketError: Error {
        public let message: String
    }

    public init() throws {
        var template = Array("/tmp/pw-notify-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SocketError(message: "mkdtemp: errno \(errno)")
        }
        directory = String(cString: created)
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
        unlink(path)
        rmdir(directory)
    }

    /// The next datagram, or nil when none arrives within `timeoutMilliseconds`.
    public func receive(timeoutMilliseconds: Int32 = 2000) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Datagrams until one satisfies `predicate` (returned last) or the time runs out.
    public func receive(
        until predicate: (String) -> Bool, timeoutMilliseconds: Int32 = 20_000
    ) -> [String] {
        var received: [String] = []
        var remaining = timeoutMilliseconds
        while remaining > 0 {
            var start = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            guard let datagram = receive(timeoutMilliseconds: remaining) else { break }
            received.append(datagram)
            if predicate(datagram) { break }
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &end)
            remaining -= Int32((end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1_000_000)
        }
        return received
    }
}
