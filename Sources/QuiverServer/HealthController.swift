import Foundation
import Hummingbird

/// `GET /healthz` (liveness and what is loaded; never needs the API key) and `GET /metrics`
/// (Prometheus text format).
struct HealthController: Sendable {
    let models: ModelCache
    let metrics: ServerMetrics
    let configuration: ServerConfiguration
    let started: Date

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/healthz") { _, _ in try await self.health() }
        router.get("/metrics") { _, _ in
            let text = self.metrics.render(modelsLoaded: await self.models.loadedModels())
            return JSONText.response(text, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    func health() async throws -> Response {
        let loaded = await models.loadedModels()
        let uptime = Date().timeIntervalSince(started)
        var s = "{\"status\": \"ok\", \"version\": \(JSONText.string(configuration.version)), "
        s += "\"models_loaded\": [" + loaded.map(JSONText.string).joined(separator: ", ") + "], "
        s += "\"store_path\": \(JSONText.string(configuration.database.displayLocation)), "
        s += "\"model_home\": \(JSONText.string(configuration.modelHome.root.path)), "
        s += "\"uptime_seconds\": \(String(format: "%.3f", uptime))}"
        return JSONText.response(s)
    }
}
