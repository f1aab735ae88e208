import ArgumentParser
import Foundation
import Quiver

/// `quiver embed`: embeddings of texts (and, with the matching models, of image, audio and video files).
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print the embeddings of texts or files.",
        discussion: """
        Inputs are texts given as arguments, or one text per line of standard input with `-`. \
        An argument naming an existing file is a file input, its kind detected from its content \
        (--text embeds every argument as a text): images give one vector each; audio one vector \
        (Whisper models), plus one per 30 s window when longer; videos one per sampled frame \
        (--sample), their sound track with --audio-model when installed ("segment": "audio"), and \
        the whole video as the mean of its frames ("segment": "video"). CLIP models embed texts \
        with their text tower. Texts longer than the model's limit are truncated with a warning (as sentence-transformers \
        does); --no-truncate makes that an error.

        Prompts: retrieval models want an instruction before the text (e5: "query: " / \
        "passage: ", bge: one before queries). --input-type query|passage|document puts the \
        model's prompt for that kind of text first, --prompt-name NAME one of the `prompts` of \
        its config_sentence_transformers.json (or catalog entry), --prompt TEXT a literal one; \
        without them the model's default_prompt_name applies, if it has one. `quiver ingest` \
        uses the passage prompt and `quiver search` the query prompt by themselves.

        Formats: jsonl (the default when the output is not a terminal) prints one \
        {"index": i, "embedding": [...]} per text; files add "path", and "segment", \
        "frame_index", "start", "end" (seconds) where they apply; "index" is the argument's \
        position. npy writes a float32 matrix (rows in jsonl order, without videos' sound-track \
        rows, which have another width) to standard output or --output; table shows the first values of each vector (the default on a terminal).

        Examples:
          quiver embed --model all-MiniLM-L6-v2 "A man is eating food."
          quiver embed --model e5-small-v2 --input-type query "how do I reset the router?"
          quiver embed --model efficientnet-lite0 cat.jpg dog.png
          quiver embed --model clip-vit-base-patch32 --sample uniform:8 clip.mp4 "a dog on a beach"
          cut -f2 texts.tsv | quiver embed --model all-mpnet-base-v2 - --format npy --output texts.npy
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl, npy, table }

    @Option(name: .shortAndLong, help: "Model: catalog name, hub id or folder (see `quiver models list`).")
    var model: String = "all-MiniLM-L6-v2"

    @Argument(help: "Texts or files to embed, or `-` to read one text per line from standard input.")
    var inputs: [String] = []

    @Flag(help: "Embed every argument as a text, even one that names a file.")
    var text = false

    @Option(help: "Video frames to embed: every-frame, fps:R or uniform:N.")
    var sample: String = "fps:1"

    @Option(help: "Whisper model for videos' sound tracks (skipped with a warning when not installed).")
    var audioModel: String = "faster-whisper-base"

    @Option(help: "Output format: jsonl, npy or table (default: table on a terminal, jsonl otherwise).")
    var format: Format?

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    @Option(help: "Texts embedded per batch (bounds memory; results do not depend on it).")
    var batchSize: Int = 256

    @Flag(inversion: .prefixedNo, help: "L2-normalize the vectors (default: as the model's configuration says).")
    var normalize: Bool?

    @Flag(help: "Fail on a text longer than the model's limit instead of truncating it.")
    var noTruncate = false

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Texts are queries or passages (documents): use the model's prompt for them (query, passage, document).")
    var inputType: String?

    @Option(help: "Put this prompt of the model (config_sentence_transformers.json `prompts`) before each text.")
    var promptName: String?

    @Option(help: "Put this literal text before each text (wins over --prompt-name and --input-type).")
    var prompt: String?

    @Option(help: Precision.help)
    var precision: Precision = .float32

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, got \(threads)") }
        if inputs.isEmpty { throw ValidationError("give texts to embed, or `-` to read them from standard input") }
        if let inputType, TextInputType(apiName: inputType) == nil {
            throw ValidationError("--input-type must be query, passage or document, got '\(inputType)'")
        }
    }

    func run() async throws {
        let arguments = try readInputs()
        let classified = try EmbedInput.classify(arguments, forceText: text)
        let home = ModelHome.fromEnvironment()
        let allTexts = classified.allSatisfy { if case .text = $0 { return true } else { return false } }
        if try !allTexts || home.installedModel(model).entry.modality != .text {
            if precision == .int8 {
                throw ValidationError("--precision int8 applies to BERT and MPNet text models embedding texts; \(model) with these inputs runs in fp32 (drop --precision)")
            }
            return try runFiles(classified, home: home)
        }
        let texts = arguments
        let embedder = try TextEmbedder(model: model, precision: precision)
        let chosen = format ?? (output == nil && isatty(STDOUT_FILENO) != 0 ? .table : .jsonl)
        var sink = try OutputSink(path: output, binary: chosen == .npy)
        var all: [[Float]] = []
        var index = 0
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let batch = Array(texts[start..<min(texts.count, start + batchSize)])
            let result = try embedder.embed(batch, normalize: normalize, truncate: !noTruncate, threads: threads,
                                            inputType: inputType.flatMap(TextInputType.init(apiName:)), promptName: promptName, prompt: prompt)
            for i in result.truncated {
                warn("text \(start + i) was truncated to \(embedder.maxSequenceLength) tokens (the limit of \(embedder.modelName))")
            }
            switch chosen {
            case .jsonl:
                for v in result.vectors { sink.write(EmbeddingLine.json(index: index, vector: v)); index += 1 }
            case .table:
                for (i, v) in result.vectors.enumerated() {
                    sink.write(EmbeddingLine.table(index: index, text: batch[i], vector: v)); index += 1
                }
            case .npy:
                all.append(contentsOf: result.vectors)
            }
        }
        if chosen == .npy { sink.writeBytes(NPYWriter.float32Matrix(all, columns: embedder.dimension)) }
        if chosen == .table { sink.write("\(texts.count) × \(embedder.dimension)-d vectors from \(embedder.modelName)\n") }
        try sink.close()
    }

    /// Files (and texts with a non-text model) through `FileEmbedder`.
    private func runFiles(_ inputs: [EmbedInput], home: ModelHome) throws {
        let needsAudio = inputs.contains { $0.modality == .video }
        let embedder = try FileEmbedder(model: model, audioModel: needsAudio ? audioModel : nil, sampling: sample, home: home)
        try embedder.check(inputs)
        let chosen = format ?? (output == nil && isatty(STDOUT_FILENO) != 0 ? .table : .jsonl)
        var sink = try OutputSink(path: output, binary: chosen == .npy)
        if normalize != nil { warn("--normalize/--no-normalize apply to text models only; \(embedder.modelName) vectors are printed as the model gives them") }
        let items = try embedder.embed(inputs, threads: threads, note: warn)
        switch chosen {
        case .jsonl: for item in items { sink.write(item.jsonLine()) }
        case .table:
            for item in items { sink.write(EmbeddingLine.table(index: item.input, text: item.label, vector: item.vector)) }
            sink.write("\(items.count) × \(embedder.dimension)-d vectors from \(embedder.modelName)\n")
        case .npy:
            // One matrix needs one width: sound-track rows (another model's space) are left out.
            let kept = items.filter { $0.model == nil }
            if kept.count < items.count {
                warn("\(items.count - kept.count) video sound-track row(s) left out of the npy matrix (another model's space and width); use --format jsonl to get them")
            }
            sink.writeBytes(NPYWriter.float32Matrix(kept.map(\.vector), columns: embedder.dimension))
        }
        try sink.close()
    }

    private func readInputs() throws -> [String] {
        var texts: [String] = []
        for input in inputs {
            if input == "-" {
                while let line = readLine(strippingNewline: true) { texts.append(line) }
            } else {
                texts.append(input)
            }
        }
        return texts
    }
}

/// Formatting of one embedding for the text formats.
enum EmbeddingLine {
    /// `{"index": i, "embedding": [...]}` with floats printed round-trip exact.
    static func json(index: Int, vector: [Float]) -> String {
        var s = "{\"index\": \(index), \"embedding\": ["
        s.reserveCapacity(16 + vector.count * 12)
        for (i, x) in vector.enumerated() {
            if i > 0 { s += ", " }
            s += x.isFinite ? "\(x)" : "null"
        }
        return s + "]}\n"
    }

    static func table(index: Int, text: String, vector: [Float]) -> String {
        let shown = text.count > 40 ? String(text.prefix(39)) + "…" : text
        let head = vector.prefix(4).map { String(format: "%+.4f", $0) }.joined(separator: " ")
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return String(format: "%4d  %@  [%@ …]  |v|=%.3f\n", index, shown.padding(toLength: 40, withPad: " ", startingAt: 0), head, norm)
    }
}

/// Writes a float32 NumPy matrix (format 1.0, C order).
enum NPYWriter {
    static func float32Matrix(_ rows: [[Float]], columns: Int) -> [UInt8] {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(columns)), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
        let n = UInt16(header.utf8.count)
        out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        out += Array(header.utf8)
        out.reserveCapacity(out.count + rows.count * columns * 4)
        for r in rows { for x in r { withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 } } }
        return out
    }
}

/// Standard output or a file written atomically on close.
struct OutputSink {
    private let path: String?
    private var handle: FileHandle
    private let tmp: String?

    init(path: String?, binary: Bool) throws {
        self.path = path
        if let path {
            let tmp = path + ".partial-\(getpid())"
            guard FileManager.default.createFile(atPath: tmp, contents: nil) else {
                throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            self.tmp = tmp
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
        } else {
            if binary && isatty(STDOUT_FILENO) != 0 {
                throw ValidationError("refusing to write binary npy data to a terminal; use --output FILE or a pipe")
            }
            tmp = nil
            handle = FileHandle.standardOutput
        }
    }

    mutating func write(_ s: String) { handle.write(Data(s.utf8)) }
    mutating func writeBytes(_ b: [UInt8]) { handle.write(Data(b)) }

    func close() throws {
        guard let path, let tmp else { return }
        try handle.synchronize()
        try handle.close()
        if rename(tmp, path) != 0 { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }
}

/// A warning on standard error.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}
