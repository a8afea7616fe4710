import PolarisAPI
import Synchronization

/// The moments requests left the client, from its exchange observer (end minus duration).
/// Grant times can only be delayed by a busy machine, never pulled together, so a rate bound
/// checked on them holds under load.
final class SendLog: Sendable {
    private let instants = Mutex<[ContinuousClock.Instant]>([])
    private let methods = Mutex<[String]>([])

    func record(_ exchange: PolarisClient.Exchange) {
        let sent = ContinuousClock.now - exchange.duration
        instants.withLock { $0.append(sent) }
        methods.withLock { $0.append(exchange.method) }
    }

    /// Requests this client sent that were not GETs (writes and connection tests).
    var writeCount: Int { methods.withLock { $0.filter { $0 != "GET" }.count } }

    /// The most requests sent within any window of `seconds`.
    func maximumIn(seconds: Double) -> Int {
        let sorted = instants.withLock { $0 }.sorted()
        let window = Duration.milliseconds(Int64(seconds * 1000))
        var best = 0
        var start = 0
        for end in sorted.indices {
            while sorted[end] - sorted[start] >= window { start += 1 }
            best = max(best, end - start + 1)
        }
        return best
    }
}
