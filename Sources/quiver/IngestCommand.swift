import ArgumentParser
import Foundation
import Quiver
import QuiverStore

/// `quiver ingest`: embeds files and folders into a store, one collection per embedding space.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Embed files and folders into a store (one collection per embedding space).",
        discussion: """
        Walks the folders (hidden files are skipped, symbolic-link loops are not followed), detects \
        each file's kind from its content, and embeds text files with --text-model into the \
        collection NAME_text, images with --image-model into NAME_image, and audio files with \
        --audio-model into NAME_audio. A video is its frames (one per second, and a whole-video \
        row) in NAME_image plus, when it has a sound track, one row per 30 s window of that track \
        in NAME_audio (modality video, start_s/end_s), so an audio query finds the moment. Audio \
        files over 30 s get one row per 30 s window and a whole-file row. With a CLIP image model \
        (the default when one is installed) text queries find images and video frames too.

        PDF, DOCX, ODT, EPUB, HTML and Markdown files are read as documents (detected from their \
        content): their text, with page (PDF) and section (headings) kept in each row. Text is cut \
        by the text model's own tokens (--split tokens, the default): every chunk fits the model's \
        limit with its special tokens, overlapping by --token-overlap tokens, cut at paragraph and \
        sentence ends; nothing is truncated. --split chars cuts windows of --chunk-size characters \
        (still split further where one would exceed the model); --split lines makes one row per \
        non-empty line (WordNet-style record files).

        Each row keeps path, modality, chunk, start/end (character offsets), size, sha256 and the \
        chunk's text; audio and video rows keep start_s/end_s (seconds). Running again skips unchanged files and replaces the rows of changed ones. \
        Unreadable files are listed at the end and make the exit code 1; the rest is ingested.

        NAME_text gets a BM25 full-text index on the chunks' text (English stop words and \
        Snowball stemming, Lucene's k1 1.2, b 0.75) so `quiver search` can run --mode bm25 and \
        hybrid; --no-bm25 leaves it out. Models with query/passage prompts (e5, bge) embed the \
        chunks with their passage prompt.

        The store is --db, else $QUIVER_DB, else ./quiver.db; a milvus:// or http(s):// URL \
        writes to a Milvus server (or Zilliz Cloud) instead, with --token / $MILVUS_TOKEN.

        Example:
          quiver ingest --db notes.db ~/notes
          quiver search --db notes.db "how do I reset the router?"
        """)

    enum Split: String, ExpressibleByArgument { case tokens, chars, lines }

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Base name of the collections (NAME_text, NAME_image, ...).") var collection: String = "quiver"
    @Option(help: "Model for text files.") var textModel: String = "all-MiniLM-L6-v2"
    @Option(help: "Model for images and video frames (default: an installed CLIP model, else efficientnet-lite0); a CLIP model lets text queries find them.") var imageModel: String?
    @Option(help: "Model for audio files and video sound tracks (Whisper).") var audioModel: String = "faster-whisper-base"
    @Option(help: ArgumentHelp("Also embed each video as clips of frames and sound together with this model (multimodal-perceiver), into COLLECTION_video; search them with a video file.", valueName: "MODEL")) var videoModel: String?
    @Option(help: "How text is split: tokens (chunks that fit the text model), chars (character windows) or lines (one row per line).") var split: Split = .tokens
    @Option(help: "Tokens shared by consecutive chunks (with --split tokens).") var tokenOverlap: Int = 32
    @Option(help: "Characters per text chunk (with --split chars).") var chunkSize: Int = 1000
    @Option(help: "Characters shared by consecutive chunks (with --split chars).") var chunkOverlap: Int = 200
    @Option(help: "Pieces embedded per model call (across files).") var batchSize: Int = 64
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: Precision.help) var precision: Precision = .float32
    @Flag(help: "Plain log lines instead of a progress bar, even on a terminal.") var noProgress = false
    @Flag(help: "Do not give NAME_text a BM25 full-text index (no --mode bm25/hybrid searches).") var noBm25 = false
    @Argument(help: "Files and folders to ingest.") var paths: [String] = []

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give files or folders to ingest") }
        guard chunkSize > 0, chunkOverlap >= 0, chunkOverlap < chunkSize else {
            throw ValidationError("--chunk-size must be positive and --chunk-overlap in 0..<chunk-size")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() async throws {
        let path = database.location
        let store = try await database.open()
        var opts = IngestOptions(collection: collection, textModel: textModel, imageModel: imageModel,
                                 audioModel: audioModel,
                                 split: split == .lines ? .lines : split == .tokens ? .tokens(overlap: max(0, tokenOverlap))
                                     : .characters(size: chunkSize, overlap: chunkOverlap),
                                 batchSize: batchSize, threads: threads)
        opts.fullText = !noBm25
        opts.videoModel = videoModel
        var options = opts
        options.precision = precision
        let bar = ProgressLine(tty: !noProgress && isatty(STDERR_FILENO) != 0)
        let report = try await Ingestor(store: store, options: options).ingest(paths) { bar.update($0) }
        bar.finish()
        try await store.close()
        let sound = report.soundTrackRows > 0 ? " (\(report.soundTrackRows) of them video sound-track windows)" : ""
        let line = "ingested into \(path): \(report.added) new, \(report.replaced) changed, \(report.unchanged) unchanged files; " +
            "\(report.pieces) rows written\(sound) to \(report.collections.sorted().joined(separator: ", "))"
        FileHandle.standardError.write(Data((line + "\n").utf8))
        for s in report.skipped { FileHandle.standardError.write(Data("skipped \(s.path): \(s.reason)\n".utf8)) }
        if !report.failures.isEmpty {
            FileHandle.standardError.write(Data("\(report.failures.count) file(s) failed:\n".utf8))
            for f in report.failures { FileHandle.standardError.write(Data("  \(f.path): \(f.reason)\n".utf8)) }
            throw ExitCode(1)
        }
    }
}

/// The store path: the option, else $QUIVER_DB, else ./quiver.db.
enum StorePath {
    static func resolve(_ option: String?) -> String {
        option ?? ProcessInfo.processInfo.environment["QUIVER_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "quiver.db"
    }
}

/// A progress bar with rate and ETA on a terminal (redrawn at most 10 times a second), or a log
/// line every 5 seconds otherwise.
final class ProgressLine {
    let tty: Bool
    let started = Date()
    var last = Date.distantPast
    var drawn = false
    init(tty: Bool) { self.tty = tty }

    func update(_ p: IngestProgress) {
        let now = Date()
        let done = p.filesDone == p.filesTotal
        guard done || now.timeIntervalSince(last) >= (tty ? 0.1 : 5) else { return }
        last = now
        let elapsed = max(now.timeIntervalSince(started), 1e-3)
        let frac = p.bytesTotal > 0 ? Double(p.bytesDone) / Double(p.bytesTotal) : Double(p.filesDone) / Double(max(p.filesTotal, 1))
        let rate = Double(p.pieces) / elapsed
        let eta = frac > 0 ? elapsed * (1 - frac) / frac : 0
        let stats = "\(p.filesDone)/\(p.filesTotal) files, \(p.pieces) rows, \(String(format: "%.0f", rate)) rows/s, ETA \(Self.time(eta))"
        if tty {
            let width = 30, filled = Int(frac * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K\(bar) \(String(format: "%3.0f", frac * 100))% \(stats)".utf8))
            drawn = true
        } else {
            FileHandle.standardError.write(Data("ingest: \(stats) (\((p.path as NSString).lastPathComponent))\n".utf8))
        }
    }

    func finish() { if drawn { FileHandle.standardError.write(Data("\n".utf8)) } }

    static func time(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
    }
}
