import Dispatch
import Foundation
import Quiver

/// Text models loaded on first use and kept for the life of the server. Concurrent requests for a
/// model that is still loading wait for that one load; a failed load is not cached (the next request
/// tries again, e.g. after the files were installed).
actor ModelCache {
    private let home: ModelHome
    private let precision: Precision
    private var loaded: [String: TextEmbedder] = [:]
    private var loading: [String: Task<TextEmbedder, Error>] = [:]

    init(home: ModelHome, precision: Precision = .float32) { self.home = home; self.precision = precision }

    /// The embedder for `name` (catalog name, hub id or folder path).
    /// - Throws: `APIError` 404 `model_not_found` naming close catalog names, or 400 for a model
    ///   that is not installed or does not embed text.
    func embedder(for name: String) async throws -> TextEmbedder {
        let resolved: ResolvedModel
        do { resolved = try home.resolve(name) } catch { throw Self.apiError(error, requested: name) }
        let key = resolved.entry.name
        if let e = loaded[key] { return e }
        if let task = loading[key] { return try await task.value }
        let home = self.home, precision = self.precision
        let task = Task<TextEmbedder, Error> {
            do {
                return try await runBlocking { try TextEmbedder(model: name, home: home, precision: precision) }
            } catch {
                throw Self.apiError(error, requested: name)
            }
        }
        loading[key] = task
        defer { loading[key] = nil }
        let embedder = try await task.value
        loaded[key] = embedder
        return embedder
    }

    /// Names of the models loaded so far, sorted.
    func loadedModels() -> [String] { loaded.keys.sorted() }

    /// Maps the library's model errors to OpenAI-style client errors.
    static func apiError(_ error: Error, requested: String) -> Error {
        switch error {
        case let HubError.unknownModel(_, suggestions):
            var message = "The model '\(requested)' does not exist"
            if !suggestions.isEmpty { message += "; close names: \(suggestions.joined(separator: ", "))" }
            message += " (see `quiver models list`)"
            return APIError(status: .notFound, message: message, type: "invalid_request_error", param: "model", code: "model_not_found")
        case let HubError.fileSystem(path, message):
            // A request naming a folder that is not a model on the server: the client's error.
            return APIError(status: .notFound, message: "The model '\(requested)' is no model folder on the server (\(path): \(message))",
                            type: "invalid_request_error", param: "model", code: "model_not_found")
        case let e as QuiverError:
            switch e {
            case .modelNotInstalled:
                return APIError(status: .notFound, message: e.description, type: "invalid_request_error", param: "model", code: "model_not_installed")
            case .unsupportedModality, .unsupportedModel:
                return APIError.badRequest(e.description, param: "model", code: "unsupported_model")
            default:
                return APIError.badRequest(e.description)
            }
        case let e as APIError:
            return e
        default:
            return APIError(status: .internalServerError, message: "cannot load model '\(requested)': \(error)", type: "server_error", param: "model")
        }
    }
}

/// Runs CPU-heavy synchronous work (model loading, forward passes) on a Dispatch thread, keeping
/// Swift's cooperative threads free to serve other requests (health checks, metrics) meanwhile.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try body() })
        }
    }
}
