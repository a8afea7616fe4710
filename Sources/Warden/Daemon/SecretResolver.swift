import PolarisAPI
import Systemd

#if canImport(Glibc)
import Glibc
#endif

/// Turns a config's secret reference into the secret: a systemd credential
/// (`LoadCredential=`), a key file that only its owner can read, or an environment variable
/// (development). The value never appears in an error.
public enum SecretResolver {
    public struct ResolveError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func resolve(_ source: SecretSource, environment: [String: String]) throws -> Secret {
        let value: String
        switch source {
        case .credential(let name):
            do {
                value = try Credentials.read(named: name, directory: environment["CREDENTIALS_DIRECTORY"])
            } catch {
                throw ResolveError(description: "credential \(name): \(error)")
            }
        case .file(let path):
            do {
                value = try Credentials.readKeyFile(atPath: path)
            } catch {
                throw ResolveError(description: "key file: \(error)")
            }
        case .env(let name):
            guard let found = environment[name], !found.isEmpty else {
                throw ResolveError(description: "environment variable \(name) is not set")
            }
            value = found
        }
        guard !value.isEmpty else { throw ResolveError(description: "the secret from \(source.label) is empty") }
        return Secret(value)
    }

    /// Builds the client configuration of a warden config, reading the secret.
    public static func clientConfiguration(
        for settings: PolarisSettings, environment: [String: String]
    ) throws -> PolarisClientConfiguration {
        let authentication: PolarisClientConfiguration.Authentication
        switch settings.auth {
        case .apiKey(let source):
            authentication = .apiKey(try resolve(source, environment: environment))
        case .oauth(let clientID, let source, let tokenURL):
            authentication = .oauth(
                clientID: clientID, clientSecret: try resolve(source, environment: environment), tokenURL: tokenURL)
        }
        return try PolarisClientConfiguration(
            url: settings.url, projectID: settings.projectId, authentication: authentication,
            requestTimeout: .milliseconds(Int64(settings.requestTimeoutSeconds * 1000)),
            maxRequestsPerSecond: settings.maxRequestsPerSecond)
    }
}

extension SecretSource {
    /// Where the secret comes from, for messages (never the secret).
    var label: String {
        switch self {
        case .credential(let name): "credential \(name)"
        case .file(let path): "file \(path)"
        case .env(let name): "environment variable \(name)"
        }
    }
}
