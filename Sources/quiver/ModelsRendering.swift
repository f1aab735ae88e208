import Foundation
import QuiverHub

/// The models shown by `quiver models list`: the catalog, then folders in the model home not in it.
enum ModelRows {
    static func all(home: ModelHome) -> [ResolvedModel] {
        var rows = ModelCatalog.standard.entries.compactMap { try? home.resolve($0.name) }
        let known = Set(rows.map(\.folder.lastPathComponent))
        for name in home.installedFolderNames() where !known.contains(name) {
            if let m = try? home.resolve(name) { rows.append(m) }
        }
        return rows
    }
}

/// The JSON form of a model for `list --format json` and `info --format json`.
struct ModelInfoJSON: Encodable {
    let name: String
    let origin: String
    let hubID: String?
    let modality: String
    let dimension: Int?
    let architecture: String?
    let format: String?
    let installed: Bool
    let missingFiles: [String]
    let sizeOnDisk: Int64
    let folder: String
    let sources: [String]
    let weightSHA256: String?
    let defaults: ModelDefaults
    let files: ModelFiles
    let summary: String

    init(_ m: ResolvedModel) {
        name = m.entry.name; origin = m.origin.rawValue; hubID = m.entry.hubID
        modality = m.entry.modality.rawValue; dimension = m.entry.dimension
        architecture = m.entry.architecture?.rawValue; format = (m.weightFile?.format ?? m.entry.format)?.rawValue
        installed = m.isInstalled; missingFiles = m.missingFiles
        sizeOnDisk = FileManager.default.fileExists(atPath: m.folder.path) ? m.sizeOnDisk : 0
        folder = m.folder.path; sources = m.entry.sources.map(\.description)
        weightSHA256 = m.entry.weightSHA256; defaults = m.entry.defaults; files = m.entry.files; summary = m.entry.summary
    }
}

/// Where a pulled model came from, read from the record `quiver models pull` leaves in the folder.
enum PulledFrom {
    static func read(_ folder: URL) -> String? {
        guard let d = try? Data(contentsOf: folder.appendingPathComponent(".quiver-pull.json")),
              let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any], let source = o["source"] as? String else { return nil }
        var s = source
        if let r = o["revision"] as? String { s += " @ \(r)" }
        if let c = o["commit"] as? String { s += " (commit \(c.prefix(12)))" }
        return s
    }
}

func jsonString<T: Encodable>(_ value: T) throws -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try enc.encode(value), as: UTF8.self)
}

/// `1.2 MB` style sizes (powers of 1000, as the hub shows them).
func formatBytes(_ n: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var v = Double(n), i = 0
    while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
    return i == 0 ? "\(n) B" : String(format: v < 10 ? "%.2f %@" : (v < 100 ? "%.1f %@" : "%.0f %@"), v, units[i])
}

/// Left-aligned columns separated by two spaces.
func renderTable(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    return rows.map { r in
        r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }.joined(separator: "\n")
}

/// Draws pull progress on stderr: on a terminal one line redrawn in place (bar, bytes, rate, ETA);
/// otherwise plain lines (each file's start and end, and every 25% of large files).
final class ProgressRenderer: @unchecked Sendable {
    private let terminal: Bool
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var started = Date()
    private var startBytes: Int64 = 0
    private var currentFile = ""
    private var lastQuarter = -1
    private var lineOpen = false

    init(terminal: Bool) { self.terminal = terminal }

    func report(_ p: PullProgress) {
        lock.lock(); defer { lock.unlock() }
        if p.file != currentFile {
            currentFile = p.file; started = Date(); startBytes = p.fileBytes; lastQuarter = -1
        }
        switch p.phase {
        case .started:
            if !terminal {
                let resume = p.fileBytes > 0 ? ", resuming at \(formatBytes(p.fileBytes))" : ""
                emit("[\(p.fileIndex)/\(p.fileCount)] \(p.file): downloading" + (p.fileTotal.map { " \(formatBytes($0))" } ?? "") + resume)
            }
        case .transferring:
            if terminal {
                let now = Date()
                if now.timeIntervalSince(lastDraw) < 0.1 { return }
                lastDraw = now
                draw(p)
            } else if let total = p.fileTotal, total > 10_000_000 {
                let q = Int(4 * Double(p.fileBytes) / Double(max(total, 1)))
                if q > lastQuarter && q < 4 { lastQuarter = q; emit("  \(p.file): \(q * 25)%  \(formatBytes(p.fileBytes)) / \(formatBytes(total))  \(rateText(p))") }
            }
        case .finished:
            if terminal { clearLine() }
            emit("[\(p.fileIndex)/\(p.fileCount)] \(p.file): \(p.outcome?.rawValue ?? "done") (\(formatBytes(p.fileBytes)))")
        }
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if terminal { clearLine() }
    }

    private func rate(_ p: PullProgress) -> Double {
        let dt = Date().timeIntervalSince(started)
        return dt > 0 ? Double(p.fileBytes - startBytes) / dt : 0
    }

    private func rateText(_ p: PullProgress) -> String {
        let r = rate(p)
        var s = "\(formatBytes(Int64(r)))/s"
        if let total = p.fileTotal, r > 0 {
            let eta = Int(Double(total - p.fileBytes) / r)
            s += "  ETA " + (eta >= 3600 ? "\(eta / 3600)h\(eta % 3600 / 60)m" : eta >= 60 ? "\(eta / 60)m\(eta % 60)s" : "\(eta)s")
        }
        return s
    }

    private func draw(_ p: PullProgress) {
        let width = 28
        var bar = ""
        var pct = ""
        if let total = p.fileTotal, total > 0 {
            let f = min(1, Double(p.fileBytes) / Double(total))
            let filled = Int(f * Double(width))
            bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            pct = String(format: "%3.0f%% ", f * 100)
        }
        let size = formatBytes(p.fileBytes) + (p.fileTotal.map { "/" + formatBytes($0) } ?? "")
        let line = "[\(p.fileIndex)/\(p.fileCount)] \(p.file) \(bar)\(pct)\(size)  \(rateText(p))"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        lineOpen = true
    }

    private func clearLine() {
        if lineOpen { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); lineOpen = false }
    }

    private func emit(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
