import PolarisAPI

/// How drift reads in one line (journal events) or a list (`plan`, `status`).
public enum SpecDriftText {
    /// At most `limit` differences joined with "; ", and how many more there are.
    public static func summary(_ differences: [SpecDifference], limit: Int = 3) -> String {
        var text = differences.prefix(limit).map(\.description).joined(separator: "; ")
        if differences.count > limit { text += "; and \(differences.count - limit) more" }
        return text
    }
}
