import Hummingbird
import NIOCore
import PolarisAPI

/// The per-request context: Hummingbird's core storage plus the channel (so a fault can drop
/// the connection) and the authenticated caller (recorded as `createdBy`/`lastModifiedBy`).
struct EmulatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    var caller: PolarisUser = EmulatorStore.apiKeyUser

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
