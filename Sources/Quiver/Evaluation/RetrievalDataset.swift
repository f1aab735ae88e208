import Foundation
import QuiverDocuments

/// A retrieval test set: documents, queries and relevance judgments (qrels), as BEIR lays them out.
public struct RetrievalDataset: Sendable {
    /// One document of the corpus.
    public struct Document: Sendable, Hashable {
        /// Its id (BEIR `_id`, or the file's path relative to the folder).
        public var id: String
        /// Its title (BEIR `title`; empty when there is none).
        public var title: String
        /// Its text.
        public var text: String
        /// What is embedded and indexed: `title + " " + text` when there is a title (as BEIR's
        /// dense and BM25 retrievers do), else the text.
        public var content: String { title.isEmpty ? text : title + " " + text }

        /// A document.
        public init(id: String, title: String = "", text: String) { self.id = id; self.title = title; self.text = text }
    }

    /// A query.
    public struct Query: Sendable, Hashable {
        /// Its id (BEIR `_id`).
        public var id: String
        /// Its text.
        public var text: String
        /// A query.
        public init(id: String, text: String) { self.id = id; self.text = text }
    }

    /// The corpus, in file order.
    public var documents: [Document]
    /// The queries that have judgments, in file order (queries without any are dropped, as BEIR does).
    public var queries: [Query]
    /// Judgments: query id → document id → relevance grade (0 = judged not relevant).
    public var qrels: [String: [String: Int]]

    /// A dataset from its parts; queries without judgments are dropped.
    public init(documents: [Document], queries: [Query], qrels: [String: [String: Int]]) {
        self.documents = documents
        self.queries = queries.filter { qrels[$0.id] != nil }
        self.qrels = qrels
    }

    /// Loads a BEIR folder: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`,
    /// `text`) and `qrels/<split>.tsv` (`query-id`, `corpus-id`, `score`, with a header line).
    /// - Throws: `QuiverError.invalidDataset` naming the file and line of what is wrong.
    public static func beir(folder: URL, split: String = "test") throws -> RetrievalDataset {
        let corpus = try readJSONLines(folder.appendingPathComponent("corpus.jsonl")) { line, o, url in
            Document(id: try id(o, url, line), title: o["title"] as? String ?? "", text: try string(o, "text", url, line))
        }
        let queries = try readJSONLines(folder.appendingPathComponent("queries.jsonl")) { line, o, url in
            Query(id: try id(o, url, line), text: try string(o, "text", url, line))
        }
        let qrels = try readQrels(folder.appendingPathComponent("qrels").appendingPathComponent("\(split).tsv"))
        return try checked(RetrievalDataset(documents: corpus, queries: queries, qrels: qrels), qrelsPath: "qrels/\(split).tsv")
    }

    /// Loads a folder of files as the corpus (each file one document, its id the path relative to
    /// `folder`; text files as they are, PDF/DOCX/ODT/EPUB/HTML/Markdown as their extracted text),
    /// with queries from `queries` (BEIR `queries.jsonl`, or TSV lines `id<TAB>text`) and
    /// judgments from `qrels` (BEIR TSV `query-id corpus-id score`, or TREC `qid 0 docid rel`).
    /// - Throws: `QuiverError.invalidDataset` for unreadable files and judgments of unknown documents.
    public static func folder(_ folder: URL, queries: URL, qrels: URL) throws -> RetrievalDataset {
        let root = folder.standardizedFileURL.resolvingSymlinksInPath()
        let listed = FileWalker.files(in: [root.path])
        if let p = listed.problems.first { throw QuiverError.invalidDataset(path: p.path, reason: p.reason) }
        var docs: [Document] = []
        for url in listed.files {
            let data: Data
            do { data = try Data(contentsOf: url) } catch { throw QuiverError.invalidDataset(path: url.path, reason: "cannot read the file") }
            let rel = String(url.path.dropFirst(root.path.count).drop(while: { $0 == "/" }))
            let text: String
            if let format = Ingestor.documentFormat(data, url) {
                do { text = try DocumentExtractor().extract(path: url.path, data: data, format: format).layout().text } catch {
                    throw QuiverError.invalidDataset(path: url.path, reason: "\(error)")
                }
            } else if let s = String(data: data, encoding: .utf8) {
                text = s
            } else {
                throw QuiverError.invalidDataset(path: url.path, reason: "neither UTF-8 text nor a document format Quiver reads")
            }
            docs.append(Document(id: rel, text: text))
        }
        let qs: [Query]
        if queries.pathExtension.lowercased() == "jsonl" {
            qs = try readJSONLines(queries) { line, o, url in Query(id: try id(o, url, line), text: try string(o, "text", url, line)) }
        } else {
            qs = try lines(queries).compactMap { n, line in
                guard !line.isEmpty else { return nil }
                let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw QuiverError.invalidDataset(path: "\(queries.path):\(n)", reason: "expected `id<TAB>text`")
                }
                return Query(id: String(parts[0]), text: String(parts[1]))
            }
        }
        return try checked(RetrievalDataset(documents: docs, queries: qs, qrels: try readQrels(qrels)), qrelsPath: qrels.path)
    }

    /// Refuses judgments that name documents the corpus lacks (a typo there would silently count
    /// as a miss) and a set with no judged query.
    static func checked(_ d: RetrievalDataset, qrelsPath: String) throws -> RetrievalDataset {
        let ids = Set(d.documents.map(\.id))
        if ids.count != d.documents.count {
            var seen = Set<String>()
            let dup = d.documents.first { !seen.insert($0.id).inserted }!.id
            throw QuiverError.invalidDataset(path: "corpus", reason: "document id \(dup) appears twice")
        }
        for (q, docs) in d.qrels.sorted(by: { $0.key < $1.key }) {
            if let missing = docs.keys.sorted().first(where: { !ids.contains($0) }) {
                throw QuiverError.invalidDataset(path: qrelsPath, reason: "query \(q) judges document \(missing), which is not in the corpus")
            }
        }
        guard !d.queries.isEmpty else {
            throw QuiverError.invalidDataset(path: qrelsPath, reason: "no query of the queries file has a judgment here")
        }
        return d
    }

    /// Judgments from a TSV (BEIR: `query-id corpus-id score`, header optional) or TREC qrels
    /// (`qid iteration docid rel`, whitespace separated).
    static func readQrels(_ url: URL) throws -> [String: [String: Int]] {
        var out: [String: [String: Int]] = [:]
        for (n, line) in try lines(url) {
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
            if f.isEmpty { continue }
            if n == 1, f.count >= 3, Int(f[f.count - 1]) == nil { continue }   // header line
            let (q, d, s): (String, String, String)
            switch f.count {
            case 3: (q, d, s) = (f[0], f[1], f[2])
            case 4: (q, d, s) = (f[0], f[2], f[3])
            default: throw QuiverError.invalidDataset(path: "\(url.path):\(n)", reason: "expected `query-id<TAB>corpus-id<TAB>score` or TREC `qid 0 docid rel`")
            }
            guard let grade = Int(s) ?? Double(s).map({ Int($0) }) else {
                throw QuiverError.invalidDataset(path: "\(url.path):\(n)", reason: "the relevance score \(s) is not a number")
            }
            out[q, default: [:]][d] = grade
        }
        if out.isEmpty { throw QuiverError.invalidDataset(path: url.path, reason: "no judgments") }
        return out
    }

    static func lines(_ url: URL) throws -> [(Int, String)] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw QuiverError.invalidDataset(path: url.path, reason: "no such file (or it cannot be read)")
        }
        var s = String(decoding: data, as: UTF8.self)
        if s.hasPrefix("\u{FEFF}") { s.removeFirst() }
        return s.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { i, l in
            (i + 1, l.hasSuffix("\r") ? String(l.dropLast()) : String(l))
        }
    }

    static func readJSONLines<T>(_ url: URL, _ make: (Int, [String: Any], URL) throws -> T) throws -> [T] {
        var out: [T] = []
        for (n, line) in try lines(url) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw QuiverError.invalidDataset(path: "\(url.path):\(n)", reason: "not a JSON object")
            }
            out.append(try make(n, o, url))
        }
        return out
    }

    static func id(_ o: [String: Any], _ url: URL, _ line: Int) throws -> String {
        if let s = o["_id"] as? String { return s }
        if let n = o["_id"] as? NSNumber { return n.stringValue }
        throw QuiverError.invalidDataset(path: "\(url.path):\(line)", reason: "no `_id`")
    }

    static func string(_ o: [String: Any], _ key: String, _ url: URL, _ line: Int) throws -> String {
        guard let s = o[key] as? String else { throw QuiverError.invalidDataset(path: "\(url.path):\(line)", reason: "no `\(key)` string") }
        return s
    }
}
