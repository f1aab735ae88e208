import Dispatch
import Foundation
import Hummingbird
import Quiver
import QuiverStore

/// The web page of `quiver serve` and the JSON API it uses.
///
/// - `GET /`: the page (HTML, CSS and script in one response, no external resources; `/?q=words`
///   runs that search on load).
/// - `GET /api/collections`: the collections of the store with row counts and models.
/// - `POST /api/search`: `{"text", "limit", "modality": [...], "filter", "collection", "mode"}`;
///   `mode` is `dense`, `bm25` or `hybrid` (default: hybrid when the text collection has a BM25 index).
///   Over a Milvus database searches are dense; `bm25` and `hybrid` answer 400 `needs_embedded_store`
///   naming the text collection (BM25 indexes exist in the embedded store only).
/// - `POST /api/search/file?limit=&modality=&filter=&collection=&name=&t=`: the raw file as body.
/// - `GET|HEAD /api/media?id=ROW_ID&collection=NAME`: the file of a row (see `WebMedia`).
///
/// These routes are registered before the server-wide API key check and check the key
/// themselves: the page (which holds no data) loads without it, so a user can type the key
/// into it; `/api/*` needs `Authorization: Bearer KEY`, and the media route also accepts the
/// `quiver_key` cookie the page sets, since `<img>`, `<audio>` and `<video>` cannot send headers.
struct WebController: Sendable {
    let stores: StoreHolder
    let embeddings: TextEmbeddings
    let configuration: ServerConfiguration
    let searchers: WebSearchers
    let media: WebMedia

    static let fields: Set<String> = ["text", "limit", "modality", "filter", "collection", "mode"]
    static let maxLimit = 1000

    init(stores: StoreHolder, embeddings: TextEmbeddings, configuration: ServerConfiguration) {
        self.stores = stores
        self.embeddings = embeddings
        self.configuration = configuration
        self.searchers = WebSearchers(stores: stores, home: configuration.modelHome)
        self.media = WebMedia(stores: stores)
    }

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in
            var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"]
            headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: WebPage.html)))
        }
        router.get("/api/collections") { request, _ in
            try authorize(request, cookie: false)
            return JSONText.response(try await collections())
        }
        router.post("/api/search") { request, _ in
            try authorize(request, cookie: false)
            return JSONText.response(try await search(request))
        }
        router.post("/api/search/file") { request, _ in
            try authorize(request, cookie: false)
            return JSONText.response(try await searchFile(request))
        }
        router.get("/api/media") { request, context in
            try authorize(request, cookie: true)
            return try await media.response(request, context: context, head: false)
        }
        router.head("/api/media") { request, context in
            try authorize(request, cookie: true)
            return try await media.response(request, context: context, head: true)
        }
    }

    // MARK: API key

    /// Checks the API key when one is set: the Bearer header, or (`cookie`) the `quiver_key` cookie.
    func authorize(_ request: Request, cookie: Bool) throws {
        guard let key = configuration.apiKey, !key.isEmpty else { return }
        let expected = Array(key.utf8)
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "),
           APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array(header.utf8.dropFirst(7)), expected) {
            return
        }
        if cookie, let value = request.cookies["quiver_key"]?.value,
           APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array((value.removingPercentEncoding ?? value).utf8), expected) {
            return
        }
        let sent = request.headers[.authorization] != nil
        throw APIError(status: .unauthorized,
                       message: sent ? "incorrect API key; enter the key given to `quiver serve` (--api-key or QUIVER_API_KEY) in the page's API key field"
                                     : "this server needs an API key: enter the key given to `quiver serve` (--api-key or QUIVER_API_KEY) in the page's API key field, or send 'Authorization: Bearer KEY'",
                       type: "invalid_request_error", code: sent ? "invalid_api_key" : "missing_api_key")
    }

    // MARK: collections

    /// Base names of ingest collections (`<base>_text`, `_image`, `_audio`, `_video`).
    static func base(of name: String) -> (base: String, modality: String)? {
        for m in ContentModality.allCases {
            let suffix = "_" + m.rawValue
            if name.hasSuffix(suffix), name.count > suffix.count { return (String(name.dropLast(suffix.count)), m.rawValue) }
        }
        return nil
    }

    /// The base searched when a request names none: `quiver` when it exists, else the only base.
    static func defaultBase(_ names: [String]) -> String {
        let bases = Set(names.compactMap { base(of: $0)?.base })
        if bases.contains("quiver") || bases.count != 1 { return "quiver" }
        return bases.first!
    }

    func collections() async throws -> String {
        let store = try await stores.get()
        let names = try await store.listCollections()
        var items: [String] = []
        for name in names {
            let info = try await store.describeCollection(name)
            var s = "{\"name\": \(JSONText.string(name)), \"count\": \(info.count)"
            if let b = Self.base(of: name) {
                s += ", \"base\": \(JSONText.string(b.base)), \"modality\": \(JSONText.string(b.modality))"
            }
            if let f = info.schema.vectorFields.first {
                s += ", \"model\": \(JSONText.string(f.model.id)), \"dimension\": \(f.dimension), \"metric\": \(JSONText.string(f.metric.rawValue))"
            }
            s += ", \"indexes\": [" + info.indexes.map { JSONText.string($0.kind.rawValue) }.joined(separator: ", ") + "]}"
            items.append(s)
        }
        let bases = Array(Set(names.compactMap { Self.base(of: $0)?.base })).sorted()
        return "{\"store\": \(JSONText.string(store.location)), \"default_base\": \(JSONText.string(Self.defaultBase(names))), "
            + "\"bases\": [" + bases.map(JSONText.string).joined(separator: ", ") + "], "
            + "\"collections\": [" + items.joined(separator: ", ") + "]}"
    }

    // MARK: search

    /// The search options common to text and file queries.
    struct Options {
        var limit = 10
        var modalities: Set<ContentModality>?
        var filter: String?
        var base: String?
        var mode: SearchMode?
    }

    static func limit(_ value: Int?, param: String = "limit") throws -> Int {
        guard let n = value else { return 10 }
        guard (1...maxLimit).contains(n) else {
            throw APIError.badRequest("'\(param)' must be between 1 and \(maxLimit), got \(n)", param: param)
        }
        return n
    }

    static func modalities(_ names: [String], param: String = "modality") throws -> Set<ContentModality>? {
        let cleaned = names.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        guard !cleaned.isEmpty else {
            throw APIError.badRequest("'\(param)' is empty: choose at least one of text, image, audio, video (or leave it out to search all)", param: param)
        }
        var out: Set<ContentModality> = []
        for n in cleaned {
            guard let m = ContentModality(rawValue: n) else {
                throw APIError.badRequest("'\(param)' has '\(n)'; use text, image, audio or video", param: param)
            }
            out.insert(m)
        }
        return out
    }

    /// Parses the body of `POST /api/search`.
    static func parseSearch(_ body: JSONBody) throws -> (text: String, options: Options) {
        if let unknown = body.object.keys.filter({ !fields.contains($0) }).sorted().first {
            throw APIError.badRequest("unknown field '\(unknown)'; fields: text, limit, modality, filter, collection, mode", param: unknown)
        }
        guard let text = try body.string("text", required: true), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.badRequest("'text' is empty; type what to search for (or upload a file to POST /api/search/file)", param: "text")
        }
        var o = Options()
        o.limit = try limit(try body.int("limit"))
        if let m = body.object["modality"], !(m is NSNull) {
            if let s = m as? String { o.modalities = try modalities([s]) }
            else if let list = m as? [Any] {
                guard let names = list as? [String] else {
                    throw APIError.badRequest("'modality' must be an array of strings (text, image, audio, video)", param: "modality")
                }
                o.modalities = try modalities(names)
            } else {
                throw APIError.badRequest("'modality' must be an array of strings, got \(JSONBody.typeName(m))", param: "modality")
            }
        }
        if let f = try body.string("filter"), !f.trimmingCharacters(in: .whitespaces).isEmpty { o.filter = f }
        if let c = try body.string("collection"), !c.isEmpty { o.base = c }
        if let m = try body.string("mode"), !m.isEmpty, m != "auto" {
            guard let mode = SearchMode(rawValue: m.lowercased()) else {
                throw APIError.badRequest("'mode' must be \"dense\", \"bm25\" or \"hybrid\" (or \"auto\"), got \(JSONText.string(m))", param: "mode")
            }
            o.mode = mode
        }
        return (text, o)
    }

    /// The base name searched: the request's, else ``defaultBase(_:)`` of the store.
    func chosenBase(_ base: String?) async throws -> String {
        if let base { return base }
        return Self.defaultBase(try await stores.get().listCollections())
    }

    func lane(_ base: String?) async throws -> SearchLane {
        try await searchers.lane(try await chosenBase(base))
    }

    /// BM25 and hybrid text search need the embedded store's full-text index: over a Milvus
    /// database they are refused (not answered dense-only), naming the text collection.
    func checkMode(_ mode: SearchMode?, base: String?) async throws {
        guard let mode, mode != .dense, stores.isMilvus else { return }
        let text = Ingestor.collectionName(try await chosenBase(base), .text)
        throw APIError.badRequest("'mode' \(mode.rawValue): full-text (BM25) search of collection '\(text)' needs the embedded store, "
                                  + "and this server's database is the Milvus server \(stores.path) (Quiver keeps no BM25 index there); "
                                  + "use \"mode\": \"dense\" (or leave it out), or serve an embedded store folder",
                                  param: "mode", code: "needs_embedded_store")
    }

    func search(_ request: Request) async throws -> String {
        let body = try JSONBody(bytes: try await request.bodyBytes(limit: configuration.maxBodyBytes))
        let (text, o) = try Self.parseSearch(body)
        try await checkMode(o.mode, base: o.base)
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = try await Self.mapErrors {
            // Searches that reach only the text collection embed the query in the server's batcher
            // (see WebTextSearch.swift); the others run in the base name's `Searcher`.
            if let batched = try await batchedTextSearch(text, o) { return batched }
            return try await lane(o.base).run { try await $0.search(text: text, limit: o.limit, filter: o.filter, modalities: o.modalities, mode: o.mode) }
        }
        return WebJSON.outcome(outcome, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    // MARK: file search

    /// File extensions by upload Content-Type, for uploads without a `name`.
    static let extensions: [String: String] = [
        "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp",
        "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3", "audio/flac": "flac",
        "audio/ogg": "ogg", "audio/mp4": "m4a", "audio/x-m4a": "m4a", "audio/webm": "weba",
        "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "video/x-matroska": "mkv",
        "video/x-msvideo": "avi", "video/ogg": "ogv", "text/plain": "txt", "text/markdown": "md",
    ]

    /// The extension for the temporary file: the uploaded name's (letters and digits only), else
    /// the Content-Type's. Detection uses it only to tell apart containers that hold either audio or video.
    static func uploadExtension(name: String?, contentType: String?) -> String {
        if let name {
            let ext = (name as NSString).pathExtension.lowercased()
            if !ext.isEmpty, ext.count <= 10, ext.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) { return ext }
        }
        let type = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return extensions[type] ?? "bin"
    }

    func searchFile(_ request: Request) async throws -> String {
        let q = request.uri.queryParameters
        var o = Options()
        o.limit = try Self.limit(try q["limit"].map { s -> Int in
            guard let n = Int(s) else { throw APIError.badRequest("'limit' must be an integer, got '\(s)'", param: "limit") }
            return n
        })
        if let m = q["modality"] { o.modalities = try Self.modalities(m.split(separator: ",").map(String.init)) }
        if let f = q["filter"], !f.trimmingCharacters(in: .whitespaces).isEmpty { o.filter = String(f) }
        if let c = q["collection"], !c.isEmpty { o.base = String(c) }
        var videoTime: Double?
        if let t = q["t"] {
            guard let v = Double(t), v >= 0, v.isFinite else { throw APIError.badRequest("'t' must be a time in seconds ≥ 0, got '\(t)'", param: "t") }
            videoTime = v
        }
        let name = q["name"].map(String.init)
        let shown = name.map { ($0 as NSString).lastPathComponent } ?? "the uploaded file"
        let ext = Self.uploadExtension(name: name, contentType: request.headers[.contentType])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-upload-\(UUID().uuidString).\(ext)")
        defer { try? FileManager.default.removeItem(at: url) }
        let bytes = try await Self.write(request.body, to: url, limit: configuration.maxBodyBytes)
        guard bytes > 0 else {
            throw APIError.badRequest("the upload is empty: send the image, audio, video or text file as the request body", param: "body")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let (options, time) = (o, videoTime)
        let outcome = try await Self.mapErrors(replacing: url.path, with: shown) {
            try await lane(options.base).run {
                try await $0.search(file: url, limit: options.limit, filter: options.filter, modalities: options.modalities, videoTime: time)
            }
        }
        return WebJSON.outcome(outcome, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// Streams a request body into a new file; returns its size.
    /// - Throws: `APIError` 413 past `limit` bytes.
    static func write(_ body: RequestBody, to url: URL, limit: Int) async throws -> Int {
        guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: url.path) else {
            throw APIError(status: .internalServerError, message: "cannot create a temporary file in \(url.deletingLastPathComponent().path) for the upload",
                           type: "server_error")
        }
        defer { try? handle.close() }
        var total = 0
        for try await buffer in body {
            total += buffer.readableBytes
            if total > limit {
                throw APIError(status: .contentTooLarge,
                               message: "the upload is larger than the server's limit of \(limit) bytes (start quiver serve with a larger --max-body)",
                               type: "invalid_request_error", code: "request_too_large")
            }
            try handle.write(contentsOf: Data(buffer.readableBytesView))
        }
        return total
    }

    // MARK: errors

    /// Runs a search, turning the library's errors into client errors (with the temporary upload
    /// path replaced by the uploaded file's name).
    static func mapErrors<T>(replacing path: String? = nil, with name: String = "", _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as APIError {
            throw e
        } catch let e as QuiverError {
            var message = e.description
            if let path { message = message.replacingOccurrences(of: path, with: name) }
            switch e {
            case .modelNotInstalled:
                throw APIError(status: .serviceUnavailable, message: message, type: "server_error", code: "model_not_installed")
            case .noCompatibleCollection:
                throw APIError.badRequest(message, code: "no_compatible_collection")
            default:
                throw APIError.badRequest(message)
            }
        } catch let e as StoreError {
            switch e {
            case .invalidFilter:
                throw APIError.badRequest(e.description, param: "filter", code: "invalid_filter")
            case .invalidRequest, .invalidData, .modelMismatch, .dimensionMismatch, .invalidIndexParameter:
                throw APIError.badRequest(e.description)
            case .collectionNotFound:
                throw APIError.notFound(e.description, code: "collection_not_found")
            default:
                throw APIError(status: .internalServerError, message: e.description, type: "server_error")
            }
        } catch {
            var message = "\(error)"
            if let path { message = message.replacingOccurrences(of: path, with: name) }
            throw APIError.badRequest("cannot search: \(message)")
        }
    }
}
