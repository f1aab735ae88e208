import Foundation
import QuiverTensor
import QuiverWeights
import QuiverMedia

/// How a Whisper model turns a window of audio into one vector.
public enum WhisperPooling: String, Sendable, Equatable, CaseIterable {
    /// Mean of the encoder's last hidden state over the frames that cover real audio
    /// (`ceil(samples / 320)` frames of 20 ms; the silence padding to 30 s is left out), then L2-normalized.
    case mean
    /// The seed article's variant: the decoder's last hidden state for the input
    /// `[<|startoftranscript|>, <|startoftranscript|>]` over the window's encoder output (all
    /// 1500 frames), mean of the two positions, then L2-normalized. Loads the decoder too.
    case seedDecoder
}

/// Embeddings of audio split into 30 s windows.
public struct WhisperWindowEmbeddings: Sendable, Equatable {
    /// One vector per window (`dimension` floats), in time order.
    public let windows: [[Float]]
    /// The samples (at 16 kHz) each window covers.
    public let sampleRanges: [Range<Int>]
    /// The whole recording: the mean of the window vectors weighted by their encoder frames
    /// (i.e. by duration), L2-normalized when the windows are.
    public let mean: [Float]
}

/// A Whisper model as an audio embedder: log-mel features, the encoder, pooling.
///
/// Loads either checkpoint layout from a folder: CTranslate2 (`model.bin`, as faster-whisper
/// ships; dimensions inferred from the tensors, `<|startoftranscript|>` from `tokenizer.json`)
/// or Hugging Face (`config.json` + `model.safetensors`). Input is mono float PCM at 16 kHz;
/// each 30 s window costs one full encoder pass (1500 frames), whatever its length.
///
/// Thread safety: the embedding methods may be called from several threads at once (each call takes
/// its own workspace from a pool guarded by a lock).
///
/// ```swift
/// let model = try WhisperEncoderModel(folder: URL(fileURLWithPath: "models/faster-whisper-base"))
/// let audio = try AudioDecoder.decode(contentsOf: URL(fileURLWithPath: "talk.mp3"))  // mono, 16 kHz
/// let vector = try model.embed(samples: audio.samples)          // 512 floats (base), unit length
/// let perWindow = try model.embedWindows(samples: audio.samples) // one vector per 30 s window
/// ```
public final class WhisperEncoderModel: @unchecked Sendable {
    /// Input sample rate in Hz.
    public static let sampleRate = WhisperLogMel.sampleRate
    /// Samples per window (30 s).
    public static let windowSamples = WhisperLogMel.windowSamples

    /// Which checkpoint layout the weights were read from (CTranslate2 or Hugging Face).
    public let layout: WhisperLayout
    /// The model dimensions, from `config.json` (Hugging Face) or inferred from the tensors (CTranslate2).
    public let config: WhisperConfig
    /// The encoder forward pass: `[numMelBins, 3000]` log-mel features (band-major) in, `[1500, dimension]` states out.
    public let encoder: WhisperEncoder
    /// Present for `.seedDecoder` pooling.
    public let decoder: WhisperDecoder?
    /// The front end: 16 kHz samples to the `[numMelBins, 3000]` log-mel spectrogram of one 30 s window.
    public let logMel: WhisperLogMel
    /// How ``embed(samples:normalize:threads:)`` turns a window's encoder output into one vector.
    public let pooling: WhisperPooling
    /// The `<|startoftranscript|>` id used by `.seedDecoder`.
    public let startTokenID: Int
    /// Width of the embeddings (`d_model`: 384 tiny, 512 base, 1280 large).
    public var dimension: Int { config.dModel }

    private let lock = NSLock()
    private var idleWorkspaces: [Workspace] = []

    /// Loads a model folder: `model.bin` (CTranslate2) if present, else `config.json` +
    /// `model.safetensors` (Hugging Face).
    /// - Throws: `ModelsError.missingFile` naming what is missing, `.invalidConfig`/`.unsupported`
    ///   for a configuration Quiver cannot run, `WeightsError` naming a missing, misshapen or unused tensor.
    /// - Parameters:
    ///   - folder: a faster-whisper folder (`model.bin`, `tokenizer.json`) or a Hugging Face one.
    ///   - pooling: `.mean` (default) or `.seedDecoder` (also loads the decoder).
    ///   - startTokenID: overrides the `<|startoftranscript|>` id (`tokenizer.json`, else
    ///     `decoder_start_token_id`, else inferred from the vocabulary size).
    public convenience init(folder: URL, pooling: WhisperPooling = .mean, startTokenID: Int? = nil) throws {
        let fm = FileManager.default
        let ct2 = folder.appendingPathComponent("model.bin"), st = folder.appendingPathComponent("model.safetensors")
        let tokenizerStart = Self.startToken(tokenizer: folder.appendingPathComponent("tokenizer.json"))
        if fm.fileExists(atPath: ct2.path) {
            let source = try CTranslate2File(path: ct2.path)
            try self.init(weights: source, layout: .ctranslate2, config: nil, pooling: pooling, startTokenID: startTokenID ?? tokenizerStart)
        } else if fm.fileExists(atPath: st.path) {
            let config = try WhisperConfig.load(folder.appendingPathComponent("config.json"))
            try self.init(weights: try SafeTensorsFile(path: st.path), layout: .huggingFace, config: config, pooling: pooling, startTokenID: startTokenID)
        } else {
            throw ModelsError.missingFile(path: "\(ct2.path) (CTranslate2) or \(st.path) (Hugging Face)")
        }
    }

    /// Binds a checkpoint.
    /// - Parameters:
    ///   - weights: the tensors, in `layout`'s names.
    ///   - layout: the checkpoint's naming (Hugging Face or CTranslate2).
    ///   - config: required for `.huggingFace`; for `.ctranslate2` nil infers it from the tensors.
    ///   - pooling: `.mean` (default) or `.seedDecoder` (binds the decoder too; otherwise its tensors may stay unused).
    ///   - startTokenID: overrides `config.decoderStartTokenID`.
    public init(weights source: WeightSource, layout: WhisperLayout, config: WhisperConfig?, pooling: WhisperPooling = .mean,
                startTokenID: Int? = nil) throws {
        var c: WhisperConfig
        switch layout {
        case .ctranslate2: c = try config ?? WhisperConfig.inferred(fromCTranslate2: source)
        case .huggingFace:
            guard let config else { throw ModelsError.invalidConfig(path: source.path, reason: "a Hugging Face Whisper checkpoint needs its config.json") }
            c = config
        }
        if let startTokenID { c.decoderStartTokenID = startTokenID }
        try c.validate(path: source.path)
        let loader = WeightLoader(source)
        let prefix = layout == .huggingFace && source.info("model.encoder.conv1.weight") != nil ? "model." : ""
        let decoderPrefix = layout == .huggingFace ? prefix + "decoder." : "decoder/"
        loader.ignoredUnused = [{ $0.hasPrefix("proj_out.") }]
        if pooling != .seedDecoder { loader.ignoredUnused.append { $0.hasPrefix(decoderPrefix) } }
        encoder = WhisperEncoder(config: c, weights: try .bind(loader, layout: layout, prefix: prefix, config: c))
        if pooling == .seedDecoder {
            guard source.info(layout == .huggingFace ? decoderPrefix + "embed_tokens.weight" : "decoder/embeddings/weight") != nil else {
                throw ModelsError.unsupported(path: source.path, feature: "seed-decoder pooling without decoder weights")
            }
            guard (0..<c.vocabSize).contains(c.decoderStartTokenID) else {
                throw ModelsError.invalidConfig(path: source.path, reason: "decoder_start_token_id \(c.decoderStartTokenID) is outside the vocabulary (\(c.vocabSize))")
            }
            decoder = WhisperDecoder(config: c, weights: try .bind(loader, layout: layout, prefix: prefix, config: c))
        } else {
            decoder = nil
        }
        try loader.finish()
        self.layout = layout
        self.config = c
        self.pooling = pooling
        self.startTokenID = c.decoderStartTokenID
        logMel = WhisperLogMel(melCount: c.numMelBins)
        BLAS.setThreads(1)
    }

    /// `<|startoftranscript|>`'s id in a tokenizer.json, or nil.
    static func startToken(tokenizer url: URL) -> Int? {
        struct Added: Decodable { let id: Int; let content: String }
        struct File: Decodable { let added_tokens: [Added]? }
        guard let data = FileManager.default.contents(atPath: url.path),
              let file = try? JSONDecoder().decode(File.self, from: data) else { return nil }
        return file.added_tokens?.first { $0.content == "<|startoftranscript|>" }?.id
    }

    // MARK: - Embedding

    /// The embedding of a recording (mono float PCM at 16 kHz, any length): for up to 30 s the
    /// pooled window, beyond that the duration-weighted mean of the 30 s windows (see `embedWindows`).
    /// - Parameters:
    ///   - samples: mono float PCM at 16 kHz (e.g. `AudioDecoder.decode(contentsOf:).samples`), at least one sample.
    ///   - normalize: L2-normalize (default true; false gives the raw pooled vector).
    ///   - threads: worker threads (default: all cores).
    /// - Returns: `dimension` floats.
    /// - Throws: `ModelsError.invalidInput` for empty audio.
    public func embed(samples: [Float], normalize: Bool = true, threads: Int = Parallel.defaultThreads) throws -> [Float] {
        try embedWindows(samples: samples, normalize: normalize, threads: threads).mean
    }

    /// Embeds each 30 s window of a recording (the last one may be shorter) and their mean.
    /// - Throws: `ModelsError.invalidInput` for empty audio.
    public func embedWindows(samples: [Float], normalize: Bool = true, threads: Int = Parallel.defaultThreads) throws -> WhisperWindowEmbeddings {
        try embedWindows(batch: [samples], normalize: normalize, threads: threads)[0]
    }

    /// Embeds several recordings (each as `embed(samples:)`): one vector per recording.
    /// - Throws: `ModelsError.invalidInput` naming the first empty recording.
    public func embed(batch recordings: [[Float]], normalize: Bool = true, threads: Int = Parallel.defaultThreads) throws -> [[Float]] {
        try embedWindows(batch: recordings, normalize: normalize, threads: threads).map(\.mean)
    }

    /// Embeds the 30 s windows of several recordings. With at least as many windows as threads,
    /// each thread takes whole windows (no synchronization inside a window: the best throughput);
    /// otherwise windows run one after the other on all threads (the best latency).
    /// - Throws: `ModelsError.invalidInput` naming the first empty recording.
    public func embedWindows(batch recordings: [[Float]], normalize: Bool = true, threads: Int = Parallel.defaultThreads) throws -> [WhisperWindowEmbeddings] {
        let w = Self.windowSamples
        var jobs: [(recording: Int, range: Range<Int>)] = []
        for (i, r) in recordings.enumerated() {
            guard !r.isEmpty else {
                throw ModelsError.invalidInput(reason: recordings.count == 1 ? "the audio has no samples; Whisper needs at least one sample at 16 kHz"
                                                                            : "recording \(i) has no samples; Whisper needs at least one sample at 16 kHz")
            }
            jobs += stride(from: 0, to: r.count, by: w).map { (i, $0..<min(r.count, $0 + w)) }
        }
        var vectors = [[Float]](repeating: [], count: jobs.count)
        let workers = max(1, threads)
        if workers > 1 && jobs.count >= workers {
            let lock = NSLock()
            nonisolated(unsafe) var next = 0
            nonisolated(unsafe) var failure: Error?
            nonisolated(unsafe) var results = vectors
            Parallel.forEach(workers, threads: workers) { _ in
                while true {
                    lock.lock(); let j = next; next += 1; lock.unlock()
                    guard j < jobs.count else { return }
                    do {
                        let v = try self.embedWindow(recordings[jobs[j].recording][jobs[j].range], normalize: normalize, threads: 1)
                        lock.lock(); results[j] = v; lock.unlock()
                    } catch {
                        lock.lock(); failure = failure ?? error; lock.unlock()
                    }
                }
            }
            if let failure { throw failure }
            vectors = results
        } else {
            for (j, job) in jobs.enumerated() {
                vectors[j] = try embedWindow(recordings[job.recording][job.range], normalize: normalize, threads: workers)
            }
        }
        return recordings.indices.map { i in
            let mine = jobs.indices.filter { jobs[$0].recording == i }
            let windows = mine.map { vectors[$0] }, ranges = mine.map { jobs[$0].range }
            var mean = windows[0]
            if windows.count > 1 {
                let frames = ranges.map { Double(WhisperLogMel.encoderFrames(covering: $0.count)) }
                let total = frames.reduce(0, +)
                mean = [Float](repeating: 0, count: dimension)
                for (v, f) in zip(windows, frames) { for j in 0..<dimension { mean[j] += Float(f / total) * v[j] } }
                if normalize { Self.l2Normalize(&mean) }
            }
            return WhisperWindowEmbeddings(windows: windows, sampleRanges: ranges, mean: mean)
        }
    }

    /// One window (at most 30 s of samples) pooled with `pooling`.
    func embedWindow(_ samples: ArraySlice<Float>, normalize: Bool, threads: Int) throws -> [Float] {
        var v: [Float] = []
        try withEncoderOutput(Array(samples), threads: threads) { hidden in
            v = try pool(hidden, sampleCount: samples.count, pooling: pooling, normalize: normalize, threads: threads)
        }
        return v
    }

    /// The encoder's last hidden state for one window (the first 30 s of `samples`):
    /// `[1500, dimension]` floats, row-major.
    public func encode(samples: [Float], threads: Int = Parallel.defaultThreads) -> [Float] {
        var out: [Float] = []
        withEncoderOutput(samples, threads: threads) { out = Array(UnsafeBufferPointer(start: $0, count: encoder.frames * dimension)) }
        return out
    }

    /// Pools one window's encoder output (`[1500, dimension]`, from `encode`) that came from
    /// `sampleCount` samples of real audio.
    /// - Parameters:
    ///   - encoderOutput: `[1500, dimension]` floats from ``encode(samples:threads:)``.
    ///   - sampleCount: samples of real audio in the window (frames past `ceil(sampleCount / 320)` are left out by `.mean`).
    ///   - pooling: default: the model's; `.seedDecoder` needs the decoder (a model loaded with it).
    ///   - normalize: L2-normalize the result (default true).
    ///   - threads: worker threads for the seed decoder (default: all cores).
    /// - Throws: `ModelsError.unsupported` for `.seedDecoder` on a model loaded without the decoder.
    /// - Returns: `dimension` floats.
    public func pool(encoderOutput: [Float], sampleCount: Int, pooling: WhisperPooling? = nil, normalize: Bool = true,
                     threads: Int = Parallel.defaultThreads) throws -> [Float] {
        precondition(encoderOutput.count == encoder.frames * dimension, "encoder output must be [\(encoder.frames), \(dimension)]")
        return try encoderOutput.withUnsafeBufferPointer {
            try pool($0.baseAddress!, sampleCount: sampleCount, pooling: pooling ?? self.pooling, normalize: normalize, threads: threads)
        }
    }

    private func pool(_ hidden: UnsafePointer<Float>, sampleCount: Int, pooling: WhisperPooling, normalize: Bool, threads: Int) throws -> [Float] {
        let d = dimension
        var v = [Float](repeating: 0, count: d)
        switch pooling {
        case .mean:
            let n = max(1, WhisperLogMel.encoderFrames(covering: sampleCount))
            var acc = [Double](repeating: 0, count: d)
            for f in 0..<n { for j in 0..<d { acc[j] += Double(hidden[f * d + j]) } }
            for j in 0..<d { v[j] = Float(acc[j] / Double(n)) }
        case .seedDecoder:
            let states = try seedStates(encoderOutput: hidden, threads: threads)
            for j in 0..<d { v[j] = (states[j] + states[d + j]) / 2 }
        }
        if normalize { Self.l2Normalize(&v) }
        return v
    }

    /// The seed article's decoder states for one window's encoder output (`[1500, dimension]`,
    /// from `encode`): `[2, dimension]` floats, the decoder's last hidden state for the input
    /// `[start, start]`. Requires a model loaded with `.seedDecoder` pooling (the decoder).
    public func seedDecoderStates(encoderOutput: [Float], threads: Int = Parallel.defaultThreads) throws -> [Float] {
        precondition(encoderOutput.count == encoder.frames * dimension, "encoder output must be [\(encoder.frames), \(dimension)]")
        return try encoderOutput.withUnsafeBufferPointer { try seedStates(encoderOutput: $0.baseAddress!, threads: threads) }
    }

    private func seedStates(encoderOutput: UnsafePointer<Float>, threads: Int) throws -> [Float] {
        guard let decoder else { throw ModelsError.unsupported(path: "WhisperEncoderModel", feature: "decoder states without loading the decoder (load with pooling .seedDecoder)") }
        return try decoder.forward(tokens: [startTokenID, startTokenID], encoderOutput: encoderOutput, frames: encoder.frames, threads: threads)
    }

    /// Features → encoder on a pooled workspace; `body` gets the `[1500, d]` output.
    private func withEncoderOutput(_ samples: [Float], threads: Int, _ body: (UnsafePointer<Float>) throws -> Void) rethrows {
        let ws = takeWorkspace()
        defer { returnWorkspace(ws) }
        let features = logMel.features(samples, threads: threads)
        let hidden = features.withUnsafeBufferPointer { encoder.forward(features: $0.baseAddress!, workspace: ws, threads: threads) }
        try body(hidden)
    }

    static func l2Normalize(_ v: inout [Float]) {
        let n = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        if n > 0 { for i in v.indices { v[i] = Float(Double(v[i]) / n) } }
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
