/// Where the Prometheus endpoint listens: `HOST:PORT`, as written in `"metrics": {"address": …}`
/// and `run --metrics-address`. `HOST` is an IPv4 address, a host name (`localhost`) or an IPv6
/// address in brackets (`[::1]:9464`); `PORT` is 1 to 65535.
///
/// The endpoint has no authentication and no TLS: a loopback address (the example's
/// `127.0.0.1:9464`) keeps it on the host, anything else exposes it to the network, which the
/// operator has to ask for explicitly (there is no default address) and is warned about at start.
public struct MetricsAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host to bind, without brackets for IPv6.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; the error text says what is wrong and shows the expected form.
    public static func parse(_ text: String) throws(MetricsAddressError) -> MetricsAddress {
        let example = "such as 127.0.0.1:9464"
        guard !text.isEmpty else { throw MetricsAddressError("must be HOST:PORT, \(example)") }
        if text.contains("://") || text.contains("/") {
            throw MetricsAddressError("must be HOST:PORT without a scheme or path, \(example); the path is /metrics")
        }
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw MetricsAddressError("has an unclosed [ (an IPv6 address is written [::1]:9464)")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw MetricsAddressError("needs a port after the host, \(example)") }
            port = rest.dropFirst()
            guard !host.isEmpty, host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." })
            else { throw MetricsAddressError("has an invalid IPv6 address in brackets") }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw MetricsAddressError("needs a port, \(example)")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            if host.contains(":") {
                throw MetricsAddressError("must write an IPv6 address in brackets, such as [::1]:9464")
            }
            guard HostName.isValid(host) else {
                throw MetricsAddressError(
                    "needs a host before the port (127.0.0.1 for this machine only, 0.0.0.0 for every interface)")
            }
        }
        guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port),
            (1...65535).contains(number)
        else { throw MetricsAddressError("must end in a port from 1 to 65535, \(example)") }
        return MetricsAddress(host: String(host), port: number)
    }

    /// True for `localhost`, 127.0.0.0/8 and `::1`: only this machine can scrape.
    public var isLoopback: Bool { HostName.isLoopback(host) }

    /// `HOST:PORT`, with brackets around an IPv6 host.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Why a metrics address was refused; the text completes "metrics address …".
public struct MetricsAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
