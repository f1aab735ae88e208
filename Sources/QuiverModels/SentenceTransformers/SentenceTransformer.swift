import Foundation
import QuiverTensor
import QuiverTokenizers
import QuiverWeights

/// A sentence-transformers model folder (all-MiniLM-L6-v2, all-mpnet-base-v2, BGE, E5, GTE...):
/// the transformer (`config.json` + `model.safetensors` or `pytorch_model.bin`, BERT or MPNet), the pooling module
/// (`1_Pooling/config.json`), the optional Normalize module (listed in `modules.json`) and
/// `max_seq_length` (`sentence_bert_config.json`).
///
/// Weights stay memory-mapped. `embed` sorts the batch by length, packs it without padding into
/// sub-batches and runs them on `threads` workers, each with its own reusable workspace; BLAS runs
/// single-threaded inside each worker (the constructor sets OpenBLAS to 1 thread, process-wide).
///
/// Thread safety: after loading, `embed` and `embedFlat` may be called from several threads at once
/// (workspaces are handed out under a lock); set ``maxBatchTokens`` before sharing the instance.
///
/// It takes token ids, not text: tokenize with the folder's `tokenizer.json` (QuiverTokenizers), which adds
/// `[CLS]`/`[SEP]` (or `<s>`/`</s>`) as sentence-transformers does, and truncate to ``maxSequenceLength``.
///
/// ```swift
/// let folder = URL(fileURLWithPath: "/home/me/.cache/quiver/models/all-MiniLM-L6-v2")
/// let model = try SentenceTransformer(folder: folder)
/// var tokenizer = try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
/// tokenizer.padding = nil                                   // packed batches need no padding
/// tokenizer.truncation = Truncation(maxLength: model.maxSequenceLength)
/// let ids = tokenizer.encodeBatch(["A man is eating food.", "Someone eats."]).map(\.ids)
/// let vectors = try model.embed(tokenIDs: ids)              // 2 x 384 floats, unit length
/// ```
public final class SentenceTransformer: @unchecked Sendable {
    /// The folder it was loaded from.
    public let folder: URL
    /// The transformer.
    public let encoder: any TextEncoder
    /// The precision of the transformer's linear layers.
    public let precision: Precision
    /// The pooling module.
    public let pooling: Pooling
    /// True when `modules.json` lists a Normalize module (embeddings have unit length).
    public let normalizes: Bool
    /// Longest token sequence accepted (`max_seq_length`, capped by the position table).
    public let maxSequenceLength: Int
    /// Width of the embeddings.
    public var dimension: Int { pooling.outputDimension }
    /// Upper bound of tokens per packed sub-batch (bounds workspace memory: about
    /// tokens x (6 hidden + intermediate) floats per worker).
    public var maxBatchTokens = 2048

    private let lock = NSLock()
    private var idleWorkspaces: [Workspace] = []

    private struct Module: Decodable {
        var idx: Int?
        var name: String?
        var path: String
        var type: String
    }

    private struct STConfig: Decodable {
        var max_seq_length: Int?
    }

    private struct ModelType: Decodable {
        var model_type: String?
    }

    /// Loads a sentence-transformers folder.
    /// - Parameter precision: `.int8` runs the transformer's linear layers in int8 (weights quantized per
    ///   output channel at load time, activations per token at run time), after one float32 pass over
    ///   `Int8Calibration.texts` (tokenized with the folder's tokenizer.json) that finds the outlier input
    ///   channels kept in float32; `.float32` (default) is exact.
    /// - Throws: `ModelsError` naming the file for a missing/invalid configuration or an unsupported
    ///   module or architecture; `WeightsError` naming a missing, misshapen or unused tensor.
    public init(folder: URL, precision: Precision = .float32) throws {
        self.folder = folder
        self.precision = precision
        let modulesURL = folder.appendingPathComponent("modules.json")
        var transformerPath = ""
        var poolingPath = "1_Pooling"
        var normalizes = false
        if FileManager.default.fileExists(atPath: modulesURL.path) {
            let modules = try decodeJSONFile([Module].self, at: modulesURL)
            var sawPooling = false
            for m in modules.sorted(by: { ($0.idx ?? 0) < ($1.idx ?? 0) }) {
                switch m.type.split(separator: ".").last.map(String.init) ?? m.type {
                case "Transformer": transformerPath = m.path
                case "Pooling": poolingPath = m.path; sawPooling = true
                case "Normalize": normalizes = true
                default: throw ModelsError.unsupported(path: modulesURL.path, feature: "module type '\(m.type)'")
                }
            }
            if !sawPooling { throw ModelsError.unsupported(path: modulesURL.path, feature: "a pipeline without a Pooling module") }
        }
        let modelFolder = transformerPath.isEmpty ? folder : folder.appendingPathComponent(transformerPath)
        let configURL = modelFolder.appendingPathComponent("config.json")
        let type = try decodeJSONFile(ModelType.self, at: configURL).model_type ?? ""
        let weights = try Checkpoint.open(in: modelFolder)
        let calibration = precision == .int8 ? try Self.calibrationIDs(folder: folder, modelFolder: modelFolder) : []
        switch type {
        case "bert": encoder = try BertModel(config: try BertConfig.load(configURL), weights: weights, precision: precision, calibration: calibration)
        case "mpnet": encoder = try MPNetModel(config: try MPNetConfig.load(configURL), weights: weights, precision: precision, calibration: calibration)
        default: throw ModelsError.unsupported(path: configURL.path, feature: "model_type '\(type)' (supported: bert, mpnet)")
        }
        pooling = try Pooling.load(folder.appendingPathComponent(poolingPath).appendingPathComponent("config.json"), dimension: encoder.hiddenSize)
        self.normalizes = normalizes
        var maxLength = encoder.maxSequenceLength
        let stURL = modelFolder.appendingPathComponent("sentence_bert_config.json")
        if FileManager.default.fileExists(atPath: stURL.path), let m = try decodeJSONFile(STConfig.self, at: stURL).max_seq_length {
            guard m > 0 else { throw ModelsError.invalidConfig(path: stURL.path, reason: "max_seq_length must be positive, is \(m)") }
            maxLength = min(maxLength, m)
        }
        maxSequenceLength = maxLength
        BLAS.setThreads(1)
    }

    /// The token ids of `Int8Calibration.texts` with the folder's `tokenizer.json` (special tokens
    /// added, at most 128 tokens each), or none when the folder has no tokenizer.json.
    static func calibrationIDs(folder: URL, modelFolder: URL) throws -> [[Int]] {
        let candidates = [folder, modelFolder].map { $0.appendingPathComponent("tokenizer.json") }
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else { return [] }
        var tokenizer = try Tokenizer(contentsOf: url)
        tokenizer.padding = nil
        tokenizer.truncation = Truncation(maxLength: 128)
        return tokenizer.encodeBatch(Int8Calibration.texts).map(\.ids)
    }

    /// Embeds token id sequences (each already tokenized with special tokens and truncated to
    /// `maxSequenceLength`, as sentence-transformers' tokenizer produces them).
    /// - Parameters:
    ///   - tokenIDs: one id sequence per text, of any mix of lengths.
    ///   - normalize: apply the Normalize module (default: as `modules.json` says).
    ///   - threads: worker threads (default: all cores).
    /// - Returns: one `dimension`-float vector per input sequence, in input order.
    /// - Throws: `ModelsError.invalidTokenID` or `.sequenceTooLong`, naming the sequence.
    public func embed<S: Collection>(tokenIDs: S, normalize: Bool? = nil, threads: Int = Parallel.defaultThreads) throws -> [[Float]]
    where S.Element: Collection, S.Element.Element: BinaryInteger {
        let flat = try embedFlat(tokenIDs: tokenIDs, normalize: normalize, threads: threads)
        let d = dimension
        return (0..<tokenIDs.count).map { Array(flat[($0 * d)..<(($0 + 1) * d)]) }
    }

    /// Like `embed`, but returns the vectors back to back in one array (`count * dimension` floats).
    public func embedFlat<S: Collection>(tokenIDs: S, normalize: Bool? = nil, threads: Int = Parallel.defaultThreads) throws -> [Float]
    where S.Element: Collection, S.Element.Element: BinaryInteger {
        let all = TokenBatch(tokenIDs)
        try all.validate(vocabularySize: encoder.vocabularySize, maxLength: maxSequenceLength)
        let n = all.count, d = dimension, doNormalize = normalize ?? normalizes
        var result = [Float](repeating: 0, count: n * d)
        guard n > 0 else { return result }

        // Longest first, packed into sub-batches of at most `budget` tokens; at least one per worker.
        let order = (0..<n).sorted { all.length($0) > all.length($1) }
        let workers = max(1, min(threads, n))
        let budget = max(1, min(maxBatchTokens, (all.tokenCount + workers - 1) / workers))
        var groups: [[Int]] = []
        var current: [Int] = [], tokens = 0
        for i in order {
            let len = all.length(i)
            if !current.isEmpty && tokens + len > budget { groups.append(current); current = []; tokens = 0 }
            current.append(i)
            tokens += len
        }
        if !current.isEmpty { groups.append(current) }

        let next = Counter()
        result.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            Parallel.forEach(workers, threads: workers) { _ in
                let ws = self.takeWorkspace()
                defer { self.returnWorkspace(ws) }
                while let g = next.take(below: groups.count) {
                    let members = groups[g]
                    let batch = TokenBatch(members.map { all.ids[all.range($0)] })
                    let states = self.encoder.forward(batch, workspace: ws)
                    for (k, i) in members.enumerated() {
                        let o = base + i * d
                        self.pooling.pool(states + batch.offsets[k] * self.encoder.hiddenSize, length: batch.length(k), into: o)
                        if doNormalize { Pooling.normalize(o, count: d) }
                    }
                }
            }
        }
        return result
    }

    private func takeWorkspace() -> Workspace {
        lock.lock(); defer { lock.unlock() }
        return idleWorkspaces.popLast() ?? Workspace()
    }

    private func returnWorkspace(_ ws: Workspace) {
        lock.lock(); defer { lock.unlock() }
        idleWorkspaces.append(ws)
    }
}

/// A shared counter handing out indices to workers.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take(below limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}
