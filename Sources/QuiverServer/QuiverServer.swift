import Foundation
import Hummingbird

/// The HTTP server behind `quiver serve`: routes, middleware and shared state, thin over the library.
///
/// Routes: `POST /v1/embeddings` (OpenAI-compatible), `GET /healthz`, `GET /metrics`, and the
/// Milvus RESTful API v2 subset under `/v2/vectordb/` over the database of `configuration.database`
/// (an embedded store folder or a Milvus server: the server holds it as `any VectorDatabase`), and the
/// search page `GET /` with its JSON API (see `WebController`): `GET /api/collections`,
/// `POST /api/search` (`{"text", "limit", "modality": [...], "filter", "collection"}`),
/// `POST /api/search/file?limit=&modality=&name=` (the raw file as body) and
/// `GET /api/media?id=ROW_ID` (the file of a stored row, with Range support), and
/// `GET /openapi.json` (an OpenAPI 3 document of all of these, see `OpenAPIDocument`).
/// Every error is a JSON body (`{"error": {"message", "type", "param", "code"}}`); a bad request
/// never stops the server.
public struct QuiverServer: Sendable {
    /// Settings given at start.
    public let configuration: ServerConfiguration
    /// Request counters (shared with `/metrics`).
    public let metrics: ServerMetrics
    let models: ModelCache
    let stores: StoreHolder
    /// Text embedding with the forward passes of concurrent requests batched per model.
    let embeddings: TextEmbeddings

    /// A server with `configuration`; nothing is opened or loaded until a request needs it.
    public init(configuration: ServerConfiguration) {
        self.configuration = configuration
        let metrics = ServerMetrics()
        let models = ModelCache(home: configuration.modelHome, precision: configuration.precision)
        self.metrics = metrics
        self.models = models
        self.stores = StoreHolder(connection: configuration.database)
        self.embeddings = TextEmbeddings(models: models, metrics: metrics, configuration: configuration)
    }

    /// Names of the models loaded so far.
    public func loadedModels() async -> [String] { await models.loadedModels() }

    /// Opens the database now (requests open it on first use otherwise): for a Milvus server this
    /// checks at start that it answers and accepts the credentials.
    /// - Throws: `MilvusError` (unreachable, unauthenticated, TLS) or `StoreError` (e.g. `storeInUse`).
    public func openStore() async throws { _ = try await stores.open() }

    /// Flushes and closes the store (if a request opened it).
    public func closeStore() async throws { try await stores.close() }

    /// The router with every route and middleware; `buildApplication` serves it.
    public func buildRouter() -> Router<QuiverRequestContext> {
        let router = Router(context: QuiverRequestContext.self)
        router.add(middleware: ClientConnectionMiddleware())
        // Order matters: the access log sees the final status, errors become JSON before it, and
        // the API key is checked before any route runs.
        router.add(middleware: AccessLogMiddleware(metrics: metrics, log: configuration.logRequests))
        router.add(middleware: ErrorMiddleware())
        let routeMethods = RouteMethods()
        router.add(middleware: MethodNotAllowedMiddleware(routes: routeMethods)) // 405 + Allow for a known path
        WebController(stores: stores, embeddings: embeddings, configuration: configuration).addRoutes(to: router) // checks the key itself: the page at / loads without it
        OpenAPIController(version: configuration.version).addRoutes(to: router) // public, like the page
        if let key = configuration.apiKey, !key.isEmpty {
            router.add(middleware: APIKeyMiddleware(key: key))
        }
        HealthController(models: models, metrics: metrics, configuration: configuration, started: Date()).addRoutes(to: router)
        EmbeddingsController(models: models, textEmbeddings: embeddings, metrics: metrics, configuration: configuration).addRoutes(to: router)
        RerankController(rerankers: RerankerCache(home: configuration.modelHome), metrics: metrics, configuration: configuration).addRoutes(to: router)
        MilvusController(stores: stores, configuration: configuration).addRoutes(to: router)
        routeMethods.fill(from: router)
        return router
    }

    /// The application: listens on `host:port`; `runService()` serves until SIGINT or SIGTERM,
    /// then finishes the requests under way and returns.
    public func buildApplication(onServerRunning: (@Sendable (Int) async -> Void)? = nil) -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            server: httpServer,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "quiver"),
            onServerRunning: { channel in await onServerRunning?(channel.localAddress?.port ?? 0) }
        )
    }

    /// The Milvus gRPC endpoint over this server's store and models, on `host:port` (defaults:
    /// the configuration's host and `milvusPort`, else 19530); `run()` it to serve.
    public func makeMilvusEndpoint(host: String? = nil, port: Int? = nil) -> MilvusEndpoint {
        MilvusEndpoint(host: host ?? configuration.host, port: port ?? configuration.milvusPort ?? 19530,
                       service: MilvusGRPCService(stores: stores, models: models, embeddings: embeddings, configuration: configuration),
                       apiKey: configuration.apiKey)
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests under way and returns.
    /// With `milvusPort` set the Milvus gRPC endpoint is served too, and stops with the HTTP server;
    /// over a Milvus database it is not (``ServerConfiguration/servesMilvusGRPC``).
    /// - Parameters:
    ///   - onServerRunning: called with the bound port once the server listens.
    ///   - onMilvusRunning: called with the bound Milvus gRPC port once it listens.
    /// - Throws: when a port cannot be bound.
    public func run(onServerRunning: (@Sendable (Int) async -> Void)? = nil,
                    onMilvusRunning: (@Sendable (Int) async -> Void)? = nil) async throws {
        guard configuration.servesMilvusGRPC else {
            try await buildApplication(onServerRunning: onServerRunning).runService()
            try await stores.close()
            return
        }
        let endpoint = makeMilvusEndpoint()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            let port: Int
            do { port = try await endpoint.listeningPort() } catch {
                endpoint.stop()
                group.cancelAll()
                throw MilvusEndpointError(host: configuration.host, port: configuration.milvusPort ?? 0, underlying: error)
            }
            await onMilvusRunning?(port)
            do {
                try await buildApplication(onServerRunning: onServerRunning).runService()
            } catch {
                endpoint.stop()
                throw error
            }
            endpoint.stop()
            try await group.waitForAll()
        }
        try await stores.close()
    }
}
