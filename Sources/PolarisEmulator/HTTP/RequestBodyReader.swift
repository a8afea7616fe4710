import Hummingbird
import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads request bodies: Polaris answers 415 when a body is not `application/json` and 400 when
/// it does not parse (docs/polaris/api-reference.md §2.2).
enum RequestBodyReader {
    static let maxBodySize = 16 << 20

    /// The JSON body of a Polaris POST/PUT/PATCH; 415 for a wrong or missing Content-Type.
    static func json(_ request: Request) async throws -> JSONValue {
        let contentType = request.headers[.contentType] ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.filter { $0 != " " && $0 != "\t" } } ?? ""
        guard mediaType.lowercased() == "application/json" else {
            throw EmulatorError(
                status: .unsupportedMediaType, code: "UnsupportedMediaType",
                message: "Content-Type must be application/json, got [\(contentType)].")
        }
        return try await parse(request)
    }

    /// A lenient JSON body for the admin API: any Content-Type, and an empty body is `{}`.
    static func adminJSON(_ request: Request) async throws -> JSONValue {
        try await parse(request, emptyIs: .object([:]))
    }

    static func bytes(_ request: Request) async throws -> [UInt8] {
        var request = request
        let buffer = try await request.collectBody(upTo: maxBodySize)
        return Array(buffer.readableBytesView)
    }

    private static func parse(_ request: Request, emptyIs empty: JSONValue? = nil) async throws -> JSONValue {
        let bytes = try await bytes(request)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }), let empty { return empty }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw EmulatorError.invalid("Unable to process JSON: the request body is not valid JSON.")
        }
    }

    /// `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte).
    static func form(_ bytes: [UInt8]) -> [String: String] {
        var result: [String: String] = [:]
        for pair in bytes.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let key = decodeComponent(parts[0])
            result[key] = parts.count > 1 ? decodeComponent(parts[1]) : ""
        }
        return result
    }

    private static func decodeComponent(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var index = bytes.startIndex
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.endIndex, let high = hex(bytes[index + 1]),
                let low = hex(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
