import ServiceLifecycle
import Systemd

/// `WatchdogService`'s ticker as a swift-service-lifecycle `Service`, so it runs in the daemon's
/// `ServiceGroup` instead of an unstructured task (`Systemd` stays free of ServiceLifecycle).
///
/// It is the group's first service, so graceful shutdown reaches it last: it keeps pinging (as
/// long as the loop makes progress) while the in-flight cycle finishes its grace period, then
/// stops. Cancellation stops it at once.
struct WatchdogTicker: Service {
    let watchdog: WatchdogService

    func run() async {
        let watchdog = self.watchdog
        await cancelWhenGracefulShutdown { await watchdog.run() }
    }
}
