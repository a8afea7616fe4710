import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Client-credentials access tokens, cached and refreshed before they expire (Polaris tokens
/// live 5 minutes). `invalidate()` after a 401 makes the next call fetch a fresh one. Expiry is
/// measured on the client's injected clock.
actor OAuthTokenProvider {
    private let clientID: String
    private let clientSecret: Secret
    private let tokenURL: String
    private let httpClient: HTTPClient
    private let timeout: Duration
    private let clock: any WallClock
    private var cached: (token: Secret, refreshAt: WallInstant)?
    private var inFlight: Task<Secret, any Error>?

    init(
        clientID: String, clientSecret: Secret, tokenURL: String, httpClient: HTTPClient, timeout: Duration,
        clock: any WallClock
    ) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.tokenURL = tokenURL
        self.httpClient = httpClient
        self.timeout = timeout
        self.clock = clock
    }

    func token() async throws -> Secret {
        if let cached, clock.now < cached.refreshAt { return cached.token }
        if let inFlight { return try await inFlight.value }
        let task = Task { try await self.fetch() }
        inFlight = task
        defer { inFlight = nil }
        return try await task.value
    }

    func invalidate() {
        cached = nil
    }

    private struct TokenResponse: Decodable {
        let accessToken: String
        let expiresIn: Double?

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case expiresIn = "expires_in"
        }
    }

    private func fetch() async throws -> Secret {
        var request = HTTPClientRequest(url: tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let form = [
            ("grant_type", "client_credentials"), ("client_id", clientID), ("client_secret", clientSecret.reveal()),
        ].map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: form))
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: .nanoseconds(Int64(timeout.nanosecondsClamped)))
        } catch {
            throw PolarisError.authentication(detail: "token endpoint unreachable: \(type(of: error))")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            let message = PolarisErrorBody(
                json: (try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))) ?? .null
            ).message
            throw PolarisError.authentication(
                detail: "token endpoint answered \(response.status.code)" + (message.map { ": \($0)" } ?? ""))
        }
        guard let decoded = try? JSONDecoder().decode(TokenResponse.self, from: Data(body.readableBytesView)) else {
            throw PolarisError.authentication(detail: "token endpoint sent no access_token")
        }
        let lifetime = decoded.expiresIn ?? 300
        // Refresh at 80% of the lifetime (at least 5 s early, at most half of it) so a request
        // never carries a token that expires in flight.
        let margin = Swift.min(Swift.max(5, lifetime * 0.2), lifetime * 0.5)
        let refreshSeconds: Double = Swift.max(0, lifetime - margin)
        let refreshAt = clock.now.advanced(by: .milliseconds(Int64(refreshSeconds * 1000)))
        let token = Secret(decoded.accessToken)
        cached = (token, refreshAt)
        return token
    }

    static func formEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to Int64.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        if seconds > Int64.max / 1_000_000_000 { return .max }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
