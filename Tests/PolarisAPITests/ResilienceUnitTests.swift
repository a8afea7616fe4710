import Foundation
import Testing

@testable import PolarisAPI

/// The parts of the client that need no server: backoff, Retry-After, URL rules, secrets.
@Suite struct ResilienceUnitTests {
    @Test func fullJitterStaysWithinTheCappedExponentialCeiling() {
        let policy = RetryPolicy(maxAttempts: 10, initialDelay: .milliseconds(100), maxDelay: .seconds(2))
        var random = SystemRandomNumberGenerator()
        for attempt in 1...10 {
            let ceiling = min(Duration.seconds(2), .milliseconds(100) * (1 << (attempt - 1)))
            for _ in 0..<200 {
                let delay = policy.delay(afterAttempt: attempt, retryAfter: nil, using: &random)
                #expect(delay >= .zero && delay <= ceiling)
            }
        }
    }

    @Test func retryAfterWinsButIsCapped() {
        let policy = RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(100), maxDelay: .seconds(5))
        var random = SystemRandomNumberGenerator()
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(2), using: &random) == .seconds(2))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(60), using: &random) == .seconds(5))
    }

    @Test func baseURLGetsTheProjectPath() throws {
        let config = try PolarisClientConfiguration(
            url: "https://example.us-east-1.aws.api.imply.io/", projectID: "12375ffx-0000-0000-0000-000000000000",
            authentication: .apiKey(Secret("k")))
        #expect(
            config.projectURL
                == "https://example.us-east-1.aws.api.imply.io/v1/projects/12375ffx-0000-0000-0000-000000000000")
        let given = try PolarisClientConfiguration(
            url: "http://127.0.0.1:8080/v1/projects/p-1", projectID: "p-1", authentication: .apiKey(Secret("k")))
        #expect(given.projectURL == "http://127.0.0.1:8080/v1/projects/p-1")
    }

    @Test(arguments: [
        "http://example.com", "ftp://127.0.0.1", "127.0.0.1:8080", "https://user@host", "http://10.0.0.1",
    ])
    func refusesUnsafeOrMalformedURLs(url: String) {
        #expect(throws: PolarisError.self) {
            try PolarisClientConfiguration(url: url, projectID: "p", authentication: .apiKey(Secret("k")))
        }
    }

    @Test(arguments: ["http://localhost:1", "http://127.0.0.1:1", "http://[::1]:1", "https://api.example.com"])
    func acceptsLoopbackHTTPAndAnyHTTPS(url: String) throws {
        _ = try PolarisClientConfiguration(url: url, projectID: "p", authentication: .apiKey(Secret("k")))
    }

    @Test func secretsNeverRender() {
        let secret = Secret("pok_supersecret")
        #expect(!"\(secret)".contains("pok_"))
        #expect(!String(reflecting: secret).contains("pok_"))
        var dump = ""
        Swift.dump(secret, to: &dump)
        #expect(!dump.contains("pok_"))
        let config = try? PolarisClientConfiguration(
            url: "https://a.example", projectID: "p", authentication: .apiKey(secret))
        var configDump = ""
        Swift.dump(config as Any, to: &configDump)
        #expect(!configDump.contains("pok_supersecret"))
    }

    @Test func errorClassification() {
        let badRequest = PolarisError.http(
            operation: "createJob", status: 400, body: PolarisErrorBody(code: "x", message: "bad"))
        #expect(badRequest.isTerminal && !badRequest.isUnreachable && !badRequest.isAuthFailure)
        #expect(badRequest.description == "createJob: HTTP 400 x: bad")
        let tooMany = PolarisError.http(operation: "listJobs", status: 429, body: nil)
        #expect(!tooMany.isTerminal && tooMany.isUnreachable)
        #expect(PolarisError.http(operation: "listJobs", status: 401, body: nil).isAuthFailure)
        #expect(PolarisError.transport(operation: "listJobs", detail: "refused").isUnreachable)
    }
}
