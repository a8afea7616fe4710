import PolarisAPI

extension ConfigValidator {
    static let metricsKeys = ["address"]

    /// `metrics`: `{"address": "HOST:PORT"}`. The address is required once the section is
    /// there: an endpoint without authentication is never opened on a default address. Nil only
    /// with a problem reported.
    mutating func metricsSettings(_ value: JSONValue, at path: String) -> MetricsSettings? {
        guard let members = object(value, at: path) else { return nil }
        rejectUnknownKeys(members, at: path, allowed: Self.metricsKeys)
        let addressPath = ConfigPath.member(path, "address")
        guard let text = required("address", in: members, at: path).flatMap({ nonEmptyString($0, at: addressPath) })
        else { return nil }
        do {
            return MetricsSettings(address: try MetricsAddress.parse(text))
        } catch {
            report(addressPath, error.description)
            return nil
        }
    }
}
