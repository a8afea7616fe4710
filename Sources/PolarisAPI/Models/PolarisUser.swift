/// `{username, userId}`: who created or last changed a job or connection.
public struct PolarisUser: Hashable, Sendable, Codable {
    public var username: String?
    public var userId: String?

    public init(username: String?, userId: String?) {
        self.username = username
        self.userId = userId
    }
}
