/// Polaris's error body (`ErrorResponse`), parsed defensively: bodies seen in the wild are
/// `{"code","message",...}`, `{"message"}`, `{"code": 400, "message"}` and
/// `{"error": {"code","message"}}` (docs/polaris/api-reference.md §2.1).
public struct PolarisErrorBody: Hashable, Sendable, Codable {
    public var code: String?
    public var message: String?
    public var target: String?
    public var details: [PolarisErrorBody]?
    public var innererror: JSONValue?

    public init(
        code: String?, message: String?, target: String? = nil, details: [PolarisErrorBody]? = nil,
        innererror: JSONValue? = nil
    ) {
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.innererror = innererror
    }

    private enum CodingKeys: String, CodingKey { case code, message, target, details, innererror }

    public init(from decoder: any Decoder) throws {
        let json = try decoder.singleValueContainer().decode(JSONValue.self)
        self.init(json: json)
    }

    /// Reads whatever shape arrived; never throws.
    public init(json: JSONValue) {
        func text(_ value: JSONValue?) -> String? {
            switch value {
            case .string(let text): text
            case .int(let number): String(number)
            case .double(let number): String(number)
            default: nil
            }
        }
        let nested = json["error"]
        code = text(json["code"]) ?? text(nested?["code"])
        message = text(json["message"]) ?? text(nested?["message"]) ?? text(nested?["code"])
        target = text(json["target"]) ?? text(nested?["target"])
        details = (json["details"]?.arrayValue ?? nested?["details"]?.arrayValue)?.map(PolarisErrorBody.init(json:))
        innererror = json["innererror"] ?? nested?["innererror"]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code ?? "", forKey: .code)
        try container.encode(message ?? "", forKey: .message)
        try container.encodeIfPresent(target, forKey: .target)
        try container.encodeIfPresent(details, forKey: .details)
        try container.encodeIfPresent(innererror, forKey: .innererror)
    }
}
