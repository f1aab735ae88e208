import Foundation
import Hummingbird
import QuiverStore

/// `GET /api/media?id=ROW_ID[&collection=NAME]`: the file of a row that exists in the store.
///
/// The file is found through the row's `path` field, never through a path the client sends, so
/// only files that were ingested can be read. Answers with the file's Content-Type (text as
/// `text/plain`, never as HTML), `Accept-Ranges: bytes` and an `ETag`; a `Range: bytes=a-b`
/// header gets 206 with that part (players seek this way), an unsatisfiable one 416.
struct WebMedia: Sendable {
    let stores: StoreHolder

    /// A byte range of a file, both ends included.
    struct ByteRange: Equatable { var first: Int; var last: Int }

    /// The result of reading a `Range` header against a file of `size` bytes.
    enum RangeRequest: Equatable {
        /// No usable range: send the whole file (also for multi-range requests, as RFC 9110 allows).
        case whole
        case part(ByteRange)
        /// No byte of the range is in the file.
        case unsatisfiable
    }

    /// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes).
    static func parseRange(_ header: String?, size: Int) -> RangeRequest {
        guard let header = header?.trimmingCharacters(in: .whitespaces), header.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        if spec.contains(",") { return .whole }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let a = parts[0].trimmingCharacters(in: .whitespaces), b = parts[1].trimmingCharacters(in: .whitespaces)
        if a.isEmpty {
            guard let n = Int(b), n >= 0 else { return .whole }
            if n == 0 || size == 0 { return .unsatisfiable }
            return .part(ByteRange(first: max(0, size - n), last: size - 1))
        }
        guard let first = Int(a), first >= 0 else { return .whole }
        var last = size - 1
        if !b.isEmpty {
            guard let l = Int(b), l >= first else { return .whole }
            last = min(l, size - 1)
        }
        if first >= size { return .unsatisfiable }
        return .part(ByteRange(first: first, last: last))
    }

    /// Content types by file extension; text is always plain text so that no ingested file runs
    /// as a page of this origin.
    static let contentTypes: [String: String] = [
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "bmp": "image/bmp",
        "wav": "audio/wav", "wave": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg",
        "oga": "audio/ogg", "opus": "audio/ogg", "m4a": "audio/mp4", "m4b": "audio/mp4", "aac": "audio/aac",
        "weba": "audio/webm", "mka": "audio/x-matroska",
        "mp4": "video/mp4", "m4v": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "mkv": "video/x-matroska",
        "pdf": "application/pdf", "epub": "application/epub+zip", "md": "text/markdown; charset=utf-8",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "odt": "application/vnd.oasis.opendocument.text",
        "avi": "video/x-msvideo", "ogv": "video/ogg", "mpg": "video/mpeg", "mpeg": "video/mpeg",
    ]

    /// The Content-Type of the file at `path`: by extension, else by its first bytes for images,
    /// else plain text for text rows.
    static func contentType(path: String, modality: String?) -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        if let t = contentTypes[ext] { return t }
        if modality == "text" { return "text/plain; charset=utf-8" }
        let head = FileHandle(forReadingAtPath: path).flatMap { h in defer { try? h.close() }; return try? h.read(upToCount: 12) } ?? Data()
        let b = [UInt8](head)
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if b.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if b.starts(with: Array("GIF8".utf8)) { return "image/gif" }
        if b.count >= 12, b.starts(with: Array("RIFF".utf8)) {
            switch String(decoding: b[8..<12], as: UTF8.self) {
            case "WEBP": return "image/webp"
            case "WAVE": return "audio/wav"
            case "AVI ": return "video/x-msvideo"
            default: break
            }
        }
        return "application/octet-stream"
    }

    /// The row `id` of `collection` (or of any collection holding it), as its file path and modality.
    /// - Throws: `APIError` 404 naming what was not found.
    func locate(id: String, collection: String?) async throws -> (path: String, modality: String?) {
        let store = try await stores.get()
        let names: [String]
        if let collection, !collection.isEmpty {
            guard try await store.hasCollection(collection) else {
                throw APIError.notFound("no collection '\(collection)' in the store; GET /api/collections lists them", code: "collection_not_found")
            }
            names = [collection]
        } else {
            names = try await store.listCollections()
        }
        for name in names {
            let c = try await store.openCollection(name)
            let key: PrimaryKey
            switch c.schema.primaryKey.type {
            case .string: key = .string(id)
            case .int64: guard let i = Int64(id) else { continue }; key = .int(i)
            }
            // Only fields the collection can hold are asked for (Milvus refuses unknown output fields).
            let schema = c.schema
            let fields = ["path", "modality"].filter { f in schema.enableDynamicField || schema.scalarFields.contains { $0.name == f } }
            guard let row = try await c.get(ids: [key], outputFields: fields).first else { continue }
            guard case let .string(path)? = row.fields["path"], !path.isEmpty else {
                throw APIError.notFound("row '\(id)' of '\(name)' has no 'path' field, so it has no file to serve", code: "no_file")
            }
            var modality: String?
            if case let .string(m)? = row.fields["modality"] { modality = m }
            return (path, modality)
        }
        let scope = collection.map { "collection '\($0)'" } ?? "any collection"
        throw APIError.notFound("no row with id '\(id)' in \(scope) of the store; media ids come from search results", code: "row_not_found")
    }

    func response<Context: RequestContext>(_ request: Request, context: Context, head: Bool) async throws -> Response {
        let query = request.uri.queryParameters
        guard let id = query["id"].map(String.init), !id.isEmpty else {
            throw APIError.badRequest("missing query parameter 'id' (a row id from a search result, URL-encoded)", param: "id")
        }
        let (stored, modality) = try await locate(id: id, collection: query["collection"].map(String.init))
        let path = URL(fileURLWithPath: stored).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular, let size = (attributes[.size] as? NSNumber)?.intValue else {
            throw APIError.notFound("the file of row '\(id)' is no longer at \(stored); ingest it again", code: "file_missing")
        }
        let modified = Int((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        let etag = "\"\(String(size, radix: 16))-\(String(modified, radix: 16))\""
        var headers: HTTPFields = [
            .contentType: Self.contentType(path: stored, modality: modality),
            .acceptRanges: "bytes",
            .eTag: etag,
            .cacheControl: "private, max-age=60",
            .xContentTypeOptions: "nosniff",
            .contentSecurityPolicy: "default-src 'none'; sandbox",
        ]
        headers[.contentDisposition] = "inline; filename=\"\(Self.asciiFileName(stored))\""
        if let match = request.headers[.ifNoneMatch], match == etag || match == "*" {
            return Response(status: .notModified, headers: headers)
        }
        var range = Self.parseRange(request.headers[.range], size: size)
        if let ifRange = request.headers[.ifRange], ifRange != etag { range = .whole }
        let status: HTTPResponse.Status
        let byteRange: ByteRange?
        switch range {
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            headers[.contentType] = "application/json"
            let e = APIError(status: .rangeNotSatisfiable, message: "the range '\(request.headers[.range] ?? "")' is outside the file's \(size) bytes",
                             type: "invalid_request_error", code: "range_not_satisfiable")
            return e.response(extraHeaders: headers)
        case .whole:
            status = .ok
            byteRange = size > 0 ? ByteRange(first: 0, last: size - 1) : nil
        case let .part(r):
            status = .partialContent
            byteRange = r
            headers[.contentRange] = "bytes \(r.first)-\(r.last)/\(size)"
        }
        let length = byteRange.map { $0.last - $0.first + 1 } ?? 0
        headers[.contentLength] = String(length)
        guard !head, let byteRange else { return Response(status: status, headers: headers, body: .init()) }
        let body = try await FileIO().loadFile(path: path, range: byteRange.first...byteRange.last, context: context)
        return Response(status: status, headers: headers, body: body)
    }

    /// The file name for Content-Disposition, with characters outside printable ASCII (and quotes)
    /// replaced.
    static func asciiFileName(_ path: String) -> String {
        String((path as NSString).lastPathComponent.unicodeScalars.map { s -> Character in
            (s.value >= 0x20 && s.value < 0x7F && s != "\"" && s != "\\") ? Character(s) : "_"
        })
    }
}
