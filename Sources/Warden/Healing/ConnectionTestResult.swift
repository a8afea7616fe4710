/// The answer of `POST /connections/{name}/test`. A failed test (Polaris answers 400) is a
/// result, not a failed action: it tells the machine the source or its IAM role is broken.
public enum ConnectionTestResult: Hashable, Sendable {
    case ok
    case failed(message: String)
}
