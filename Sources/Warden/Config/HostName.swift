/// The host rules that `polaris.url` and `metrics.address` share.
enum HostName {
    /// A host name or IPv4 address: ASCII letters, digits, `-` and `.`, not empty and not
    /// starting with `.` or `-`.
    static func isValid(_ host: Substring) -> Bool {
        let allowed = host.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." }
        return !host.isEmpty && allowed && !host.hasPrefix(".") && !host.hasPrefix("-")
    }

    /// `localhost`, `::1` (without brackets) or an IPv4 address in 127.0.0.0/8: only this
    /// machine is reached.
    static func isLoopback(_ host: some StringProtocol) -> Bool {
        let lowered = host.lowercased()
        if lowered == "localhost" || lowered == "::1" { return true }
        let octets = lowered.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        let numbers = octets.compactMap { $0.count <= 3 && $0.allSatisfy(\.isASCII) ? Int($0) : nil }
        return numbers.count == 4 && numbers.allSatisfy { (0...255).contains($0) } && numbers[0] == 127
    }
}
