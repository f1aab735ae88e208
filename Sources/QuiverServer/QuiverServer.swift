import Foundation
import Hummingbird

/// The HTTP server behind `quiver serve`: routes, middleware and shared state, thin over the library.
///
/// Routes: `POST /v1/embeddings` (OpenAI-compatible), `GET /healthz`, `GET /metrics`, and the
/// Milvus RESTful API v2 subset under `/v2/vectordb/` over the store at `databasePath`, and the
/// search page `GET /` with its JSON API (see `WebController`): `GET /api/collections`,
/// `POST /api/search` (`{"text", "limit", "modality": [...], "filter", "collection"}`),
/// `POST /api/search/file?limit=&modality=&name=` (the raw file as body) and
/// `GET /api/media?id=ROW_ID` (the file of a stored row, with Range support).
/// Every error is a JSON body (`{"error": {"message", "type", "param", "code"}}`); a bad request
/// never stops the server.
public struct QuiverServer: Sendable {
    /// Settings given at start.
    public let configuration: ServerConfiguration
    /// Request counters (shared with `/metrics`).
    public let metrics = ServerMetrics()
    let models: ModelCache
    let stores: StoreHolder

    /// A server with `configuration`; nothing is opened or loaded until a request needs it.
    public init(configuration: ServerConfiguration) {
        self.configuration = configuration
        self.models = ModelCache(home: configuration.modelHome)
        self.stores = StoreHolder(path: configuration.databasePath)
    }

    /// Names of the models loaded so far.
    public func loadedModels() async -> [String] { await models.loadedModels() }

    /// Flushes and closes the store (if a request opened it).
    public func closeStore() async throws { try await stores.close() }

    /// The router with every route and middleware; `buildApplication` serves it.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // Order matters: the access log sees the final status, errors become JSON before it, and
        // the API key is checked before any route runs.
        router.add(middleware: AccessLogMiddleware(metrics: metrics, log: configuration.logRequests))
        router.add(middleware: ErrorMiddleware())
        WebController(stores: stores, configuration: configuration).addRoutes(to: router) // checks the key itself: the page at / loads without it
        if let key = configuration.apiKey, !key.isEmpty {
            router.add(middleware: APIKeyMiddleware(key: key))
        }
        HealthController(models: models, metrics: metrics, configuration: configuration, started: Date()).addRoutes(to: router)
        EmbeddingsController(models: models, metrics: metrics, configuration: configuration).addRoutes(to: router)
        RerankController(rerankers: RerankerCache(home: configuration.modelHome), configuration: configuration).addRoutes(to: router)
        MilvusController(stores: stores, configuration: configuration).addRoutes(to: router)
        return router
    }

    /// The application: listens on `host:port`; `runService()` serves until SIGINT or SIGTERM,
    /// then finishes the requests under way and returns.
    public func buildApplication(onServerRunning: (@Sendable (Int) async -> Void)? = nil) -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "quiver"),
            onServerRunning: { channel in await onServerRunning?(channel.localAddress?.port ?? 0) }
        )
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests under way and returns.
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public func run(onServerRunning: (@Sendable (Int) async -> Void)? = nil) async throws {
        try await buildApplication(onServerRunning: onServerRunning).runService()
        try await stores.close()
    }
}
