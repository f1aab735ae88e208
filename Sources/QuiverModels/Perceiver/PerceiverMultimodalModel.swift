import Foundation
import QuiverTensor
import QuiverWeights

/// The encoder of DeepMind's multimodal Perceiver IO (transformers'
/// `PerceiverForMultimodalAutoencoding`, Hugging Face deepmind/multimodal-perceiver): a clip's
/// frames and sound are turned into one array of input rows (``PerceiverClip``; audio patches, image
/// patches, the masked label, each with Fourier position features and padded to a common width),
/// a learned latent array cross-attends to it, and a block of latent self-attention layers runs
/// `num_blocks` times. The decoder (which reconstructs the clip from the latents) is not needed for
/// embeddings and is not loaded.
///
/// **Embedding:** the mean over the latents of the encoder's last hidden state, L2-normalized
/// (``embed(_:chunkRows:threads:)``; `dLatents` floats). The last hidden state is what every
/// decoder query reads, so it is the model's whole summary of the clip; averaging the latents
/// gives one order-free vector, and the normalization makes dot products cosines.
///
/// **Memory:** the cross-attention makes, normalizes and projects the inputs `chunkRows` rows at a
/// time with a running softmax (``OnlineAttention``), so the full input array (the hub model: 52,097
/// rows of 704 floats, 147 MB per clip), its keys and values, and the `[latents, inputs]` score
/// matrix (784 x 52,097 floats, 163 MB) never exist. Per thread it holds
/// ``crossAttentionFloatsPerThread(config:chunkRows:)`` floats (hub model, 2,048 rows: 26 MB);
/// see ``peakWorkingBytes(config:chunkRows:threads:)``.
///
/// Immutable and `Sendable`: one instance can serve several threads.
public struct PerceiverMultimodalModel: Sendable {
    /// The configuration the weights were bound with.
    public let config: PerceiverConfig
    /// A description of the checkpoint, e.g. `multimodal-perceiver-784x512`.
    public let name: String
    let latents: Tensor
    let padding: PerceiverPadding
    let crossAttention: PerceiverCrossAttentionLayer
    let selfAttends: [PerceiverSelfAttentionLayer]

    /// Input rows per cross-attention block by default.
    public static let defaultChunkRows = 2048

    /// Width of the embedding and of each latent (`d_latents`).
    public var dimension: Int { config.dLatents }

    /// Binds the encoder weights of a `PerceiverForMultimodalAutoencoding` checkpoint
    /// (`perceiver.embeddings.latents`, `perceiver.input_preprocessor.{padding,mask}.*`,
    /// `perceiver.encoder.*`; the `perceiver.` prefix may be absent). Decoder and postprocessor
    /// tensors are ignored.
    /// - Throws: `ModelsError` for an unsupported or inconsistent configuration; `WeightsError`
    ///   naming a missing, misshapen or unused tensor.
    public init(config: PerceiverConfig, weights source: WeightSource, name: String = "multimodal-perceiver",
                configPath: String = "config.json") throws {
        try config.validate(path: configPath)
        guard let activation = Activation(huggingFaceName: config.hiddenAct) else {
            throw ModelsError.unsupported(path: configPath, feature: "hidden_act '\(config.hiddenAct)'")
        }
        let loader = WeightLoader(source)
        let prefix = loader.has("perceiver.embeddings.latents") ? "perceiver." : ""
        loader.ignoredUnused = [{ $0.hasPrefix(prefix + "decoder.") || $0.hasPrefix(prefix + "output_postprocessor.") }]
        let scope = prefix.isEmpty ? loader.root : loader.root.scope("perceiver")
        latents = try scope.tensor("embeddings.latents", [config.numLatents, config.dLatents])
        padding = try PerceiverPadding(scope.scope("input_preprocessor"), config: config)
        let encoder = scope.scope("encoder")
        crossAttention = try PerceiverCrossAttentionLayer(encoder.scope("cross_attention"), config: config, activation: activation)
        selfAttends = try (0..<config.numSelfAttendsPerBlock).map {
            try PerceiverSelfAttentionLayer(encoder.scope("self_attends").scope($0), config: config, activation: activation)
        }
        try loader.finish()
        self.config = config
        self.name = name
        BLAS.setThreads(1)
    }

    /// Loads a Hugging Face folder: `config.json` and `model.safetensors` (or `pytorch_model.bin`).
    public init(folder: URL) throws {
        let configURL = folder.appendingPathComponent("config.json")
        let config = try PerceiverConfig.load(configURL)
        try self.init(config: config, weights: try Checkpoint.open(in: folder),
                      name: "multimodal-perceiver-\(config.numLatents)x\(config.dLatents)", configPath: configURL.path)
    }

    /// The encoder's input array for `clip` (rows `rows`, each `config.inputChannels` floats), as
    /// transformers' multimodal preprocessor makes it; the encoder itself makes it block by block.
    /// - Throws: `ModelsError.invalidInput` when the clip's sizes do not fit.
    public func inputRows(of clip: PerceiverClip, rows: Range<Int>? = nil) throws -> [Float] {
        let inputs = try PerceiverInputRows(clip: clip, config: config, padding: padding)
        let range = rows ?? 0..<inputs.count
        precondition(range.lowerBound >= 0 && range.upperBound <= inputs.count, "rows \(range) outside 0..<\(inputs.count)")
        var out = [Float](repeating: 0, count: range.count * inputs.channels)
        out.withUnsafeMutableBufferPointer { inputs.fill(range, into: $0.baseAddress!) }
        return out
    }

    /// Number of input rows of a clip: audio patches, image patches and the label row.
    public func inputRowCount(frames: Int, height: Int, width: Int, audioSamples: Int) -> Int {
        let block = PerceiverConfig.spatialDownsample
        return audioSamples / config.samplesPerPatch + frames * (height / block) * (width / block) + 1
    }

    /// The encoder's last hidden state for `clip`: `numLatents` rows of `dLatents` floats.
    /// - Parameters:
    ///   - chunkRows: input rows per cross-attention block (memory, not results, depends on it).
    ///   - selfAttention: false stops after the cross-attention layer (for tests).
    ///   - threads: worker threads (input shares in the cross-attention, heads in the self-attention).
    /// - Throws: `ModelsError.invalidInput` when the clip's sizes do not fit.
    public func encode(_ clip: PerceiverClip, chunkRows: Int = defaultChunkRows, selfAttention: Bool = true,
                       threads: Int = Parallel.defaultThreads) throws -> [Float] {
        let inputs = try PerceiverInputRows(clip: clip, config: config, padding: padding)
        let rows = config.numLatents
        var x = latents.array
        x.withUnsafeMutableBufferPointer { xp in
            let p = xp.baseAddress!
            crossAttention.forward(p, rows: rows, inputs: inputs, chunkRows: max(1, chunkRows), threads: max(1, threads))
            guard selfAttention else { return }
            for _ in 0..<config.numBlocks {
                for layer in selfAttends { layer.forward(p, rows: rows, threads: max(1, threads)) }
            }
        }
        return x
    }

    /// The clip's embedding: the mean over latents of the last hidden state, L2-normalized.
    public func embed(_ clip: PerceiverClip, chunkRows: Int = defaultChunkRows, threads: Int = Parallel.defaultThreads) throws -> [Float] {
        Self.embedding(lastHiddenState: try encode(clip, chunkRows: chunkRows, threads: threads), width: dimension)
    }

    /// The mean of the `width`-float rows of `state`, L2-normalized (a zero mean stays zero).
    public static func embedding(lastHiddenState state: [Float], width: Int) -> [Float] {
        let rows = state.count / width
        var mean = [Double](repeating: 0, count: width)
        for r in 0..<rows { for c in 0..<width { mean[c] += Double(state[r * width + c]) } }
        let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return mean.map { norm > 0 ? Float($0 / norm) : 0 }
    }

    /// Floats one cross-attention thread holds for blocks of `chunkRows` inputs: the input rows,
    /// their keys and values, the `[latents, chunkRows]` score block and the running sums.
    public static func crossAttentionFloatsPerThread(config c: PerceiverConfig, chunkRows: Int = defaultChunkRows) -> Int {
        chunkRows * (c.inputChannels + c.crossQKChannels + c.crossVChannels) + c.numLatents * chunkRows
            + c.numLatents * (c.crossVChannels + 2 * c.numCrossAttentionHeads)
    }

    /// Working memory of one ``encode(_:chunkRows:selfAttention:threads:)`` call besides the
    /// weights and the clip itself, in bytes: the cross-attention buffers of every thread plus its
    /// queries, or the largest self-attention layer's (queries, keys, values, context, one
    /// `[latents, latents]` score block per thread), or the MLP's, whichever is largest, plus the
    /// latents. It does not grow with the clip's length: the hub model (784 latents of 512, 704
    /// input channels, one cross-attention head) needs about 31 MB on one thread at 2,048 rows per
    /// block (26 MB more per extra thread), against 603 MB for the inputs, keys, values and
    /// scores of one 16-frame clip (52,097 rows) held whole.
    public static func peakWorkingBytes(config c: PerceiverConfig, chunkRows: Int = defaultChunkRows,
                                        threads: Int = Parallel.defaultThreads) -> Int {
        let l = c.numLatents, d = c.dLatents, t = max(1, threads)
        let cross = crossAttentionFloatsPerThread(config: c, chunkRows: chunkRows) * t + l * (d + c.crossQKChannels)
        let selfLayer = l * (d + 2 * c.selfQKChannels + 2 * c.selfVChannels) + l * l * min(t, c.numSelfAttentionHeads)
        let mlp = l * d * (1 + max(c.selfAttentionWideningFactor, c.crossAttentionWideningFactor))
        return 4 * (max(cross, selfLayer, mlp) + l * d)
    }
}
