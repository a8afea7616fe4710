/// Why a Polaris call failed. Descriptions carry Polaris's own `message` and never a secret.
public enum PolarisError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Polaris answered with a non-success status.
    case http(operation: String, status: Int, body: PolarisErrorBody?)
    /// The request did not get an answer (refused, reset, timed out) after the retries allowed.
    case transport(operation: String, detail: String)
    /// A create whose fate is unknown: it may have reached Polaris. The caller checks for the
    /// resource instead of posting again (a blind retry could make a duplicate job).
    case ambiguousCreate(operation: String, detail: String)
    /// The response body was not what the API documents.
    case decoding(operation: String, detail: String)
    /// Getting an OAuth token failed.
    case authentication(detail: String)
    /// The request could not be built (bad input from the caller).
    case invalidRequest(String)
    /// A write the client's send gate stopped before it left (`PolarisClient.gated(by:)`):
    /// certainly not made.
    case notSent(operation: String, reason: String)

    /// The send gate stopped this write: Polaris never saw it.
    public var isNotSent: Bool {
        if case .notSent = self { return true }
        return false
    }

    /// HTTP status, when Polaris answered.
    public var status: Int? {
        if case .http(_, let status, _) = self { return status }
        return nil
    }

    /// Polaris's `message`, when it sent one.
    public var polarisMessage: String? {
        if case .http(_, _, let body) = self { return body?.message }
        return nil
    }

    /// A 4xx other than 408/429: the request itself is wrong; retrying the same request will not help.
    public var isTerminal: Bool {
        switch self {
        case .http(_, let status, _): (400..<500).contains(status) && status != 408 && status != 429
        case .invalidRequest, .decoding: true
        default: false
        }
    }

    /// 401/403, or a token that could not be had: the credential is wrong, not the request.
    public var isAuthFailure: Bool {
        switch self {
        case .http(_, let status, _): status == 401 || status == 403
        case .authentication: true
        default: false
        }
    }

    /// Polaris could not be reached or is failing (5xx, transport): an outage, not our fault.
    public var isUnreachable: Bool {
        switch self {
        case .transport, .ambiguousCreate: true
        case .http(_, let status, _): status >= 500 || status == 408 || status == 429
        default: false
        }
    }

    public var description: String {
        switch self {
        case .http(let operation, let status, let body):
            var text = "\(operation): HTTP \(status)"
            if let code = body?.code, !code.isEmpty { text += " \(code)" }
            if let message = body?.message, !message.isEmpty { text += ": \(message)" }
            return text
        case .transport(let operation, let detail): return "\(operation): no answer from Polaris (\(detail))"
        case .ambiguousCreate(let operation, let detail):
            return "\(operation): outcome unknown (\(detail)); will check for the resource before creating again"
        case .decoding(let operation, let detail): return "\(operation): unexpected response: \(detail)"
        case .authentication(let detail): return "authentication failed: \(detail)"
        case .invalidRequest(let detail): return "invalid request: \(detail)"
        case .notSent(let operation, let reason): return "\(operation): not sent (\(reason))"
        }
    }
}
