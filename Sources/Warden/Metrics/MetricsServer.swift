import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Serves `GET /metrics` (Prometheus text format 0.0.4) from a `WardenMetrics`, as a
/// swift-service-lifecycle `Service` beside the warden's loop. Off unless an address is
/// configured (`run --metrics-address`, or `"metrics": {"address": …}`).
///
/// There is no authentication and no TLS: bind loopback (`127.0.0.1:9464`) and let a local
/// Prometheus or agent scrape, or put the port behind a firewall. The body holds only counts
/// and durations, never a job name, id or secret. Other paths answer 404, other methods 405.
///
/// A few dozen lines of NIOHTTP1 (already linked for the Polaris client) instead of an HTTP
/// framework: one route does not pay for a router, and the daemon binary stays small. Every
/// response closes its connection (a scrape every 15 s or more gains nothing from keep-alive),
/// and a connection that sends no complete request within `idleTimeout` is closed.
public struct MetricsServer: Service {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    static let idleTimeout = TimeAmount.seconds(30)

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
        let metrics = self.metrics
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            IdleStateHandler(allTimeout: Self.idleTimeout))
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(MetricsRequestHandler(metrics: metrics))
                    }
                }
                .bind(host: address.host, port: address.port).get()
        } catch {
            if !Task.isCancelled {
                logger.error(
                    "the metrics endpoint \(address) failed: \(error); the warden keeps supervising without it")
            }
            throw error
        }
        let port = channel.localAddress?.port ?? 0
        let shown = address.host.contains(":") ? "[\(address.host)]" : address.host
        logger.info("serving Prometheus metrics on http://\(shown):\(port)/metrics")
        onListening(port)
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await channel.closeFuture.get()
            } onGracefulShutdown: {
                channel.close(promise: nil)
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

/// One request per connection: `GET`/`HEAD /metrics` → 200 with the exposition, another path →
/// 404, another method on `/metrics` → 405; then the connection is closed.
final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: WardenMetrics
    private var request: HTTPRequestHead?

    init(metrics: WardenMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var headers = HTTPHeaders([("Server", "polaris-warden"), ("Connection", "close")])
        let status: HTTPResponseStatus
        var body = ByteBuffer()
        if path != "/metrics" {
            status = .notFound
        } else if head.method == .GET || head.method == .HEAD {
            status = .ok
            headers.add(name: "Content-Type", value: MetricsServer.contentType)
            body = ByteBuffer(bytes: metrics.expositionBytes())
        } else {
            status = .methodNotAllowed
            headers.add(name: "Allow", value: "GET, HEAD")
        }
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        if head.method != .HEAD, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
