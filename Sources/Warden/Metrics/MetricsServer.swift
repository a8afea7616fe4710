import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Serves `GET /metrics` (Prometheus text format 0.0.4) from a `WardenMetrics`, as a
/// swift-service-lifecycle `Service` beside the warden's loop. Off unless an address is
/// configured (`run --metrics-address`, or `"metrics": {"address": …}`).
///
/// There is no authentication and no TLS: bind loopback (`127.0.0.1:9464`) and let a local
/// Prometheus or agent scrape, or put the port behind a firewall. The body holds only counts
/// and durations, never a job name, id or secret. Other paths answer 404.
public struct MetricsServer: Service {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public let metrics: WardenMetrics
    public let address: MetricsAddress
    private let logger: Logger
    private let onListening: @Sendable (Int) -> Void

    /// `onListening` receives the bound port (useful with port 0 in tests).
    public init(
        metrics: WardenMetrics, address: MetricsAddress, logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.metrics = metrics
        self.address = address
        self.logger = logger
        self.onListening = onListening
    }

    /// Runs until graceful shutdown or cancellation; throws when the address cannot be bound.
    public func run() async throws {
        let router = Router()
        let metrics = self.metrics
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: Self.contentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.expositionBytes())))
        }
        // Hummingbird's own start-up chatter stays out of the journal; the line below says it.
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .warning)
        let logger = self.logger
        let onListening = self.onListening
        let host = address.host
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: address.port), serverName: "polaris-warden"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let shown = host.contains(":") ? "[\(host)]" : host
                logger.info("serving Prometheus metrics on http://\(shown):\(port)/metrics")
                onListening(port)
            },
            logger: serverLogger)
        do {
            try await application.run()
        } catch {
            if !Task.isCancelled {
                logger.error(
                    "the metrics endpoint \(address) failed: \(error); the warden keeps supervising without it")
            }
            throw error
        }
    }
}
