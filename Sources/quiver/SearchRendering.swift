import Foundation
import Quiver
import QuiverStore

/// How `quiver search` prints hits.
enum SearchRendering {
    /// Columns: rank, score, modality, path (shortened from the left), and the matched text or the
    /// time range / character range.
    static func table(_ results: [SearchResult]) -> String {
        if results.isEmpty { return "no results\n" }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        var out = pad("#", 3) + " " + pad("score", 6) + " " + pad("modality", 8) + " " + pad("path", 40) + " match\n"
        for (i, r) in results.enumerated() {
            var path = r.path
            if path.count > 40 { path = "…" + path.suffix(39) }
            out += pad("\(i + 1)", 3) + " " + pad(String(format: "%.3f", r.score), 6) + " " + pad(r.modality, 8) + " "
                + pad(path, 40) + " " + detail(r) + "\n"
        }
        return out
    }

    static func detail(_ r: SearchResult) -> String {
        if let t = r.text {
            let one = t.split(whereSeparator: \.isNewline).joined(separator: " ")
            let snip = one.count > 70 ? String(one.prefix(69)) + "…" : one
            return "\"\(snip)\""
        }
        var parts: [String] = []
        if r.int("chunk") == -1 { parts.append("whole video") }
        if let f = r.int("frame_index") { parts.append("frame \(f)") }
        if case let .double(s)? = r.fields["start_s"], case let .double(e)? = r.fields["end_s"] {
            parts.append(String(format: "%.2f–%.2f s", s, e))
        }
        return parts.joined(separator: ", ")
    }

    /// A JSON array of {score, collection, id, path, modality, fields...}.
    static func json(_ results: [SearchResult]) -> String {
        let items: [[String: JSONValue]] = results.map { r in
            var o: [String: JSONValue] = ["score": .number(Double(r.score)), "collection": .string(r.collection), "id": .string(r.id)]
            for (k, v) in r.fields {
                switch v {
                case .null: o[k] = .null
                case let .bool(b): o[k] = .bool(b)
                case let .int(i): o[k] = .number(Double(i))
                case let .double(d): o[k] = .number(d)
                case let .string(s): o[k] = .string(s)
                case let .json(j): o[k] = j
                }
            }
            return o
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? enc.encode(items)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
