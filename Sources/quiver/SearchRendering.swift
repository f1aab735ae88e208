import Foundation
import Quiver
import QuiverStore

/// How `quiver search` prints hits.
enum SearchRendering {
    /// Columns: rank, score, modality, path (relative to the current folder or `~`, shortened to
    /// its last folders when long), and the matched text or,
    /// for audio and video rows, what the row is (frame, sound track, whole video) and its time
    /// range ("0:30–1:00").
    static func table(_ results: [SearchResult]) -> String {
        if results.isEmpty { return "no results\n" }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        var out = pad("#", 3) + " " + pad("score", 6) + " " + pad("modality", 8) + " " + pad("path", 40) + " match\n"
        for (i, r) in results.enumerated() {
            let path = displayPath(r.path, width: 40)
            out += pad("\(i + 1)", 3) + " " + pad(String(format: "%.3f", r.score), 6) + " " + pad(r.modality, 8) + " "
                + pad(path, 40) + " " + detail(r) + "\n"
        }
        return out
    }

    /// `path` relative to the current folder (or as `~/...` under the home folder); when longer
    /// than `width`, its file name with as many of the last folders as fit after "…/".
    static func displayPath(_ path: String, width: Int,
                            cwd: String = FileManager.default.currentDirectoryPath,
                            home: String = FileManager.default.homeDirectoryForCurrentUser.path) -> String {
        var p = path
        if !cwd.isEmpty, cwd != "/", p.hasPrefix(cwd + "/") { p = String(p.dropFirst(cwd.count + 1)) }
        else if !home.isEmpty, home != "/", p.hasPrefix(home + "/") { p = "~/" + p.dropFirst(home.count + 1) }
        guard p.count > width else { return p }
        let parts = p.split(separator: "/", omittingEmptySubsequences: false)
        var tail = String(parts.last ?? "")
        if tail.count + 2 > width { return "…" + tail.suffix(width - 1) }
        for part in parts.dropLast().reversed() {
            let longer = part + "/" + tail
            if longer.count + 2 > width { break }
            tail = String(longer)
        }
        return "…/" + tail
    }

    static func detail(_ r: SearchResult) -> String {
        if let t = r.text {
            let one = t.split(whereSeparator: \.isNewline).joined(separator: " ")
            let snip = one.count > 70 ? String(one.prefix(69)) + "…" : one
            return documentPlace(r) + "\"\(snip)\""
        }
        var parts: [String] = []
        let sound = r.collection.hasSuffix("_audio")
        if r.int("chunk") == -1 { parts.append(r.modality == "video" ? "whole video" : "whole file") }
        if r.modality == "video" && sound { parts.append("sound track") }
        if let f = r.int("frame_index") { parts.append("frame \(f)") }
        if let t = r.timeRange { parts.append(clock(t.lowerBound) + "–" + clock(t.upperBound)) }
        return parts.joined(separator: ", ")
    }

    /// Where a document hit lies: "p. 3, Resetting the router: " (empty for plain text rows).
    static func documentPlace(_ r: SearchResult) -> String {
        var parts: [String] = []
        if let p = r.int("page") { parts.append("p. \(p)") }
        if case let .string(s)? = r.fields["section"], !s.isEmpty { parts.append(s.count > 40 ? String(s.prefix(39)) + "…" : s) }
        return parts.isEmpty ? "" : parts.joined(separator: ", ") + ": "
    }

    /// A time in seconds as `m:ss` (`h:mm:ss` from an hour on), with tenths when it is not a
    /// whole second: 30 → "0:30", 3.392 → "0:03.4", 3725 → "1:02:05".
    static func clock(_ t: Double) -> String {
        let tenths = Int((max(0, t) * 10).rounded())
        let whole = tenths / 10, frac = tenths % 10
        let h = whole / 3600, m = (whole / 60) % 60, sec = whole % 60
        var out = h > 0 ? "\(h):" + String(format: "%02d", m) : "\(m)"
        out += ":" + String(format: "%02d", sec)
        if frac != 0 { out += ".\(frac)" }
        return out
    }

    /// A JSON array of {score, collection, rank, id, path, modality, fields...}; audio and video
    /// rows carry `start_s`/`end_s` (seconds).
    static func json(_ results: [SearchResult]) -> String {
        let items: [[String: JSONValue]] = results.map { r in
            var o: [String: JSONValue] = ["score": .number(Double(r.score)), "collection": .string(r.collection),
                                          "rank": .number(Double(r.rank)), "id": .string(r.id)]
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
