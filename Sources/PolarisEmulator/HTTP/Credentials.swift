/// Reads the `Authorization` header the way Polaris clients send it (docs/polaris/api-reference.md §1.2,
/// §4.10): `Basic base64("KEY:")` in standard or URL-safe base64, padded or not (the official
/// SDK sends URL-safe), the legacy raw form `Basic KEY`, or `Bearer TOKEN`.
///
/// Pure, so every accepted and rejected form is unit-testable; the key itself never leaves
/// this function in a message.
enum Credentials: Equatable {
    case apiKey
    case bearer(String)
    case rejected(reason: String)

    init(authorization header: String?, apiKey: String) {
        guard let header, !header.isEmpty else {
            self = .rejected(reason: "Authentication required: send an API key (Basic) or an access token (Bearer).")
            return
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            self = .rejected(reason: "Malformed Authorization header.")
            return
        }
        let scheme = parts[0].lowercased()
        let value = parts[1].trimmingSpaces()
        switch scheme {
        case "basic":
            if value == apiKey {
                self = .apiKey  // the legacy, un-encoded form
            } else if let decoded = Self.decodeBase64(value), decoded == apiKey + ":" {
                self = .apiKey
            } else {
                self = .rejected(reason: "Invalid API key.")
            }
        case "bearer":
            self = value.isEmpty ? .rejected(reason: "Empty bearer token.") : .bearer(value)
        default:
            self = .rejected(reason: "Unsupported authorization scheme.")
        }
    }

    /// Decodes standard (`+/`) or URL-safe (`-_`) base64, with or without `=` padding.
    static func decodeBase64(_ text: String) -> String? {
        var bits: UInt32 = 0
        var bitCount = 0
        var bytes: [UInt8] = []
        var sawPadding = false
        for byte in text.utf8 {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            case UInt8(ascii: "="):
                sawPadding = true
                continue
            default: return nil
            }
            if sawPadding { return nil }
            bits = (bits << 6) | value
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                bytes.append(UInt8((bits >> UInt32(bitCount)) & 0xFF))
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
