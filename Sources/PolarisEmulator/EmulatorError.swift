import Hummingbird
import PolarisAPI

/// A Polaris error answer: a status and the `ErrorResponse` body (`{"code","message",...}`),
/// or the bare `{"message"}` Polaris sends for 401s.
///
/// Thrown by the store and the route handlers; Hummingbird's router turns it into a response
/// through `HTTPResponseError`, so every error path produces the same body shape.
public struct EmulatorError: Error, Sendable, Hashable, HTTPResponseError {
    public let status: HTTPResponse.Status
    public let body: JSONValue

    public init(status: HTTPResponse.Status, body: JSONValue) {
        self.status = status
        self.body = body
    }

    /// An `ErrorResponse` body.
    public init(
        status: HTTPResponse.Status, code: String, message: String, target: String? = nil,
        innererror: [String: JSONValue]? = nil
    ) {
        var fields: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let target { fields["target"] = .string(target) }
        if let innererror { fields["innererror"] = .object(innererror) }
        self.init(status: status, body: .object(fields))
    }

    public var message: String { body["message"]?.stringValue ?? "" }
    public var code: String? { body["code"]?.stringValue }

    static func invalid(_ message: String, target: String? = nil) -> EmulatorError {
        EmulatorError(status: .badRequest, code: "InvalidArgument", message: message, target: target)
    }

    static func notFound(_ message: String) -> EmulatorError {
        EmulatorError(status: .notFound, code: "NotFound", message: message)
    }

    static func unauthorized(_ message: String) -> EmulatorError {
        EmulatorError(status: .unauthorized, body: .object(["message": .string(message)]))
    }

    public func response(from request: Request, context: some RequestContext) -> Response {
        JSONResponse.make(status, body)
    }
}
