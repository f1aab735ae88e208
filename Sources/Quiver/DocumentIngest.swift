import Foundation
import QuiverDocuments
import QuiverStore

extension Ingestor {
    /// The document format of a file's content (PDF, DOCX, ODT, EPUB by their bytes; HTML by its
    /// markup; Markdown as UTF-8 text named `.md`), or nil for other files.
    static func documentFormat(_ data: Data, _ url: URL) -> DocumentFormat? {
        let isText = ContentModality.detect(header: data.prefix(1 << 16), pathExtension: url.pathExtension) == .text
        return DocumentFormat.detect(data: data, pathExtension: url.pathExtension, isText: isText)
    }

    /// Extracts a document and queues its chunks (cut by the text model's tokens, each within a
    /// page and section) in the text sink; extraction errors and pages without text go to the
    /// report. Returns the rows written by full batches.
    func ingestDocument(url: URL, data: Data, format: DocumentFormat, sink: TextSink, report: inout IngestReport) async throws -> Int {
        let hash = Self.sha256(data)
        if sink.known[url.path] == hash { report.unchanged += 1; report.collections.insert(sink.collection.name); return 0 }
        let doc: ExtractedDocument
        do { doc = try DocumentExtractor().extract(path: url.path, data: data, format: format) } catch let e as DocumentError {
            report.failures.append(IngestIssue(path: url.path, reason: "\(e)")); return 0
        }
        for w in doc.warnings { report.skipped.append(IngestIssue(path: url.path, reason: w)) }
        let overlap: Int
        if case let .tokens(o) = options.split { overlap = o } else { overlap = 32 }
        let status = try await sink.addDocument(path: url.path, document: doc, hash: hash, size: Int64(data.count), overlap: overlap)
        switch status {
        case .unchanged: report.unchanged += 1
        case .replaced: report.replaced += 1
        case .added: report.added += 1
        case .empty:
            if doc.warnings.isEmpty { report.skipped.append(IngestIssue(path: url.path, reason: "no text in this \(format.displayName) document")) }
        }
        report.collections.insert(sink.collection.name)
        return try await sink.flush(full: false)
    }
}

extension TextSink {
    /// The chunks of `text` under `split`, each within the model's token limit: `.tokens` cuts by
    /// tokens; a `.characters` or `.lines` chunk that would be truncated is split by tokens instead.
    func fitted(_ split: TextSplit, _ text: String) -> [TextChunk] {
        if case let .tokens(overlap) = split {
            return embedder.chunker(overlap: overlap).chunks(of: text).map { TextChunk(text: $0.text, start: $0.start, end: $0.end) }
        }
        let chunker = embedder.chunker(overlap: 0)
        var out: [TextChunk] = []
        for c in split.chunks(of: text) {
            if embedder.tokenize(c.text).count <= embedder.maxSequenceLength { out.append(c); continue }
            for p in chunker.chunks(of: c.text) { out.append(TextChunk(text: p.text, start: c.start + p.start, end: c.start + p.end)) }
        }
        return out
    }

    /// Queues the chunks of an extracted document. Rows carry, besides the fields of text rows,
    /// `format` (pdf, docx, odt, epub, html, markdown), `page` (1-based, where the format has
    /// pages), `section` (the heading above the chunk) and `title`; `start`/`end` are offsets in the
    /// document's extracted text. Their modality is `text`: they share the text model's space.
    func addDocument(path: String, document doc: ExtractedDocument, hash: String, size: Int64, overlap: Int) async throws -> Status {
        let old = known[path]
        if old == hash { return .unchanged }
        if old != nil { _ = try await collection.delete(filter: FilterExpression.equals("path", path)) }
        known[path] = hash
        let (text, segments) = doc.layout()
        let chunks = embedder.chunker(overlap: overlap).chunks(of: text, segments: segments.map { ($0.start, $0.end, $0.page, $0.section) })
        if chunks.isEmpty { return .empty }
        for (i, c) in chunks.enumerated() {
            var extra: [String: FieldValue] = ["format": .string(doc.format.rawValue)]
            if let p = c.page { extra["page"] = .int(Int64(p)) }
            if let s = c.section { extra["section"] = .string(s) }
            if let t = doc.title { extra["title"] = .string(t) }
            enqueue(PendingText(path: path, index: i, pieces: chunks.count, chunk: TextChunk(text: c.text, start: c.start, end: c.end),
                                size: size, hash: hash, extra: extra))
        }
        return old == nil ? .added : .replaced
    }
}
