import PolarisAPI

/// The admin API's JSON form of a fault:
/// `{"count":3,"method":"GET","pathPrefix":"/jobs","pathPattern":"...",` plus exactly one of
/// `"status":503` (with optional `"retryAfterSeconds":5` or `"retryAfterDate":"<RFC 3339>"`
/// and `"body":{...}`), `"delayMilliseconds":1500`, or `"drop":true`.
extension InjectedFault {
    init(json: JSONValue) throws(EmulatorError) {
        guard json.objectValue != nil else { throw .invalid("A fault must be a JSON object.") }
        let count = json["count"].map { $0.intValue.map(Int.init) } ?? 1
        guard let count else { throw .invalid("count must be an integer.") }
        let actions = ["status", "delayMilliseconds", "drop"].filter { json[$0] != nil }
        guard actions.count == 1 else { throw .invalid("Give exactly one of status, delayMilliseconds or drop.") }
        let action: Action
        if let status = json["status"] {
            guard let code = status.intValue else { throw .invalid("status must be an integer.") }
            var retryAfter: RetryAfter?
            if let seconds = json["retryAfterSeconds"] {
                guard let value = seconds.intValue else { throw .invalid("retryAfterSeconds must be an integer.") }
                retryAfter = .seconds(Int(value))
            } else if let date = json["retryAfterDate"] {
                guard let text = date.stringValue, let timestamp = PolarisTimestamp(text) else {
                    throw .invalid("retryAfterDate must be an RFC 3339 timestamp.")
                }
                retryAfter = .date(timestamp)
            }
            action = .respond(status: Int(code), retryAfter: retryAfter, body: json["body"])
        } else if let delay = json["delayMilliseconds"] {
            guard let milliseconds = delay.intValue, milliseconds >= 0 else {
                throw .invalid("delayMilliseconds must be a non-negative integer.")
            }
            action = .delay(.milliseconds(milliseconds))
        } else {
            guard json["drop"]?.boolValue == true else { throw .invalid("drop must be true.") }
            action = .drop
        }
        self.init(
            action, count: count, method: json["method"]?.stringValue, pathPrefix: json["pathPrefix"]?.stringValue,
            pathPattern: json["pathPattern"]?.stringValue)
        try validate()
    }

    var json: JSONValue {
        var fields: [String: JSONValue] = ["count": .int(Int64(count))]
        if let method { fields["method"] = .string(method) }
        if let pathPrefix { fields["pathPrefix"] = .string(pathPrefix) }
        if let pathPattern { fields["pathPattern"] = .string(pathPattern) }
        switch action {
        case .respond(let status, let retryAfter, let body):
            fields["status"] = .int(Int64(status))
            if let retryAfter { fields["retryAfter"] = .string(retryAfter.headerValue) }
            if let body { fields["body"] = body }
        case .delay(let duration):
            fields["delayMilliseconds"] = .int(EmulatorStore.nanos(duration) / 1_000_000)
        case .drop:
            fields["drop"] = .bool(true)
        }
        return .object(fields)
    }
}
