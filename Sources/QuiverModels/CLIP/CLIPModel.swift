import Foundation
import QuiverMedia
import QuiverTensor
import QuiverTokenizers
import QuiverWeights

/// CLIP (Hugging Face `CLIPModel` checkpoints: openai/clip-vit-base-patch32, clip-vit-large-patch14
/// and others of the same architecture): image and text embeddings in one space.
///
/// Embeddings are the projected features before normalization (`image_embeds` / `text_embeds` of
/// transformers without the final L2 normalization); the similarity logit of an image and a text is
/// `exp(logitScale) * cos(image, text)`.
///
/// Immutable and `Sendable`: one instance can serve several threads.
///
/// ```swift
/// let clip = try CLIPModel(folder: URL(fileURLWithPath: "models/clip-vit-base-patch32"))
/// let image = try clip.embed(contentsOf: [URL(fileURLWithPath: "cat.jpg")])[0]   // 512 floats
/// let texts = try clip.embed(texts: ["a photo of a cat", "a photo of a dog"])    // needs tokenizer.json
/// func cosine(_ a: [Float], _ b: [Float]) -> Float {
///     var dot: Float = 0, na: Float = 0, nb: Float = 0
///     for i in a.indices { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
///     return dot / (na * nb).squareRoot()
/// }
/// let logits = texts.map { exp(clip.logitScale) * cosine(image, $0) }
/// ```
public struct CLIPModel: ImageEmbeddingModel {
    /// The configuration the weights were bound with (both towers and `projection_dim`).
    public let config: CLIPConfig
    /// A description of the checkpoint, e.g. `clip-vit-768w-patch32-224` (vision width, patch and image size) when loaded from a folder.
    public let name: String
    /// Makes the `[3, imageSize, imageSize]` input from a decoded image: the folder's `preprocessor_config.json`,
    /// else `ImagePreprocessor.clip` (shorter side 224 bicubic, center crop, CLIP mean/std).
    public let preprocessor: ImagePreprocessor
    /// The tokenizer found next to the weights (`tokenizer.json`), if any.
    public let tokenizer: Tokenizer?
    /// The learned temperature, as stored (`logit_scale`); logits use `exp(logitScale)`.
    public let logitScale: Float
    let vision: CLIPVisionTower
    let text: CLIPTextTower

    /// Width of both embeddings (`projection_dim`).
    public var dimension: Int { config.projectionDim }

    /// Binds the weights of a `CLIPModel` checkpoint (`text_model.*`, `vision_model.*`,
    /// `text_projection`, `visual_projection`, `logit_scale`).
    /// - Throws: `ModelsError` for an unsupported configuration; `WeightsError` naming a missing,
    ///   misshapen or unused tensor.
    public init(config: CLIPConfig, weights source: WeightSource, preprocessor: ImagePreprocessor = .clip,
                tokenizer: Tokenizer? = nil, name: String = "clip", configPath: String = "config.json") throws {
        try config.validate(path: configPath)
        let loader = WeightLoader(source)
        loader.ignoredUnused = [{ $0.hasSuffix("embeddings.position_ids") }]
        let root = loader.root
        vision = try CLIPVisionTower(root.scope("vision_model"), projection: root.scope("visual_projection"),
                                     config: config.vision, projectionDim: config.projectionDim)
        text = try CLIPTextTower(root.scope("text_model"), projection: root.scope("text_projection"),
                                 config: config.text, projectionDim: config.projectionDim)
        logitScale = try root.tensor("logit_scale", shape: []).array.first ?? 0
        try loader.finish()
        self.config = config
        self.preprocessor = preprocessor
        self.tokenizer = tokenizer
        self.name = name
        BLAS.setThreads(1)
    }

    /// Loads a Hugging Face folder: `config.json`, `model.safetensors` (or `pytorch_model.bin`), `preprocessor_config.json`
    /// (else the CLIPImageProcessor defaults) and `tokenizer.json` (optional; truncates to the
    /// text encoder's context length).
    public init(folder: URL) throws {
        let configURL = folder.appendingPathComponent("config.json")
        let config = try CLIPConfig.load(configURL)
        let pre = folder.appendingPathComponent("preprocessor_config.json")
        let preprocessor = FileManager.default.fileExists(atPath: pre.path) ? try ImagePreprocessor(huggingFaceConfig: pre) : .clip
        var tokenizer: Tokenizer?
        let tok = folder.appendingPathComponent("tokenizer.json")
        if FileManager.default.fileExists(atPath: tok.path) {
            var t = try Tokenizer(contentsOf: tok)
            t.maxLength = config.text.maxPositionEmbeddings
            tokenizer = t
        }
        let v = config.vision
        try self.init(config: config, weights: try ImageModels.openWeights(in: folder),
                      preprocessor: preprocessor, tokenizer: tokenizer,
                      name: "clip-vit-\(v.hiddenSize)w-patch\(v.patchSize)-\(v.imageSize)", configPath: configURL.path)
    }

    // MARK: images

    /// Accepts only inputs of exactly `[numChannels, imageSize, imageSize]` (the position table is fixed).
    /// - Throws: `ModelsError.invalidImage` naming `index`, the actual and the expected shape.
    public func validate(_ image: ImageTensor, index: Int) throws {
        let v = config.vision
        guard image.channels == v.numChannels, image.height == v.imageSize, image.width == v.imageSize else {
            throw ModelsError.invalidImage(index: index, reason: "is \(image.channels)x\(image.height)x\(image.width), \(name) takes \(v.numChannels)x\(v.imageSize)x\(v.imageSize) (preprocess it with the model's preprocessor)")
        }
    }

    /// Embeds one validated image on the calling thread, writing ``dimension`` floats (projected, unnormalized) to `out`.
    public func forward(_ image: ImageTensor, into out: UnsafeMutablePointer<Float>, workspace: Workspace, threads: Int) {
        forward([image], into: [out], workspace: workspace, threads: threads)
    }

    /// Runs up to 8 images per pass of the vision tower (their tokens share the GEMMs).
    public func forward(_ images: [ImageTensor], into outs: [UnsafeMutablePointer<Float>], workspace: Workspace, threads: Int) {
        for start in stride(from: 0, to: images.count, by: 8) {
            let group = images[start..<min(start + 8, images.count)]
            // The inputs side by side in one workspace buffer, so the tower reads stable pointers.
            let plane = group.first!.values.count
            let input = workspace.buffer(CLIPSlot.input, count: group.count * plane)
            for (i, image) in group.enumerated() {
                image.values.withUnsafeBufferPointer { (input + i * plane).update(from: $0.baseAddress!, count: plane) }
            }
            vision.forward(images: (0..<group.count).map { UnsafePointer(input + $0 * plane) },
                           into: Array(outs[start..<(start + group.count)]), workspace: workspace, threads: threads)
        }
    }

    // MARK: texts

    /// Embeds token id sequences (each with start and end tokens, at most
    /// `config.text.maxPositionEmbeddings` long, as `CLIPTokenizer` makes them), packed without
    /// padding; each worker thread takes a contiguous share.
    /// - Returns: one `dimension`-float vector per sequence, unnormalized.
    /// - Throws: `ModelsError.invalidTokenID` / `.sequenceTooLong` naming the sequence, or
    ///   `.emptySequence`.
    public func embed<S: Collection>(tokenIDs: S, threads: Int = Parallel.defaultThreads) throws -> [[Float]]
    where S.Element: Collection, S.Element.Element: BinaryInteger {
        let batch = TokenBatch(tokenIDs)
        try batch.validate(vocabularySize: config.text.vocabSize, maxLength: config.text.maxPositionEmbeddings)
        if let empty = (0..<batch.count).first(where: { batch.length($0) == 0 }) {
            throw ModelsError.emptySequence(sequence: empty)
        }
        let n = batch.count, d = dimension
        var flat = [Float](repeating: 0, count: n * d)
        let workers = max(1, min(threads, n)), inner = max(1, threads / workers)
        // Each worker packs its contiguous share, up to 64 sequences per pass of the tower.
        let shares = Parallel.split(n, parts: workers)
        flat.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            Parallel.forEach(shares.count, threads: shares.count) { w in
                let ws = Workspace()
                for start in stride(from: shares[w].lowerBound, to: shares[w].upperBound, by: 64) {
                    let group = start..<min(start + 64, shares[w].upperBound)
                    self.text.forward(sequences: group.map { Array(batch.ids[batch.range($0)]) }, into: group.map { base + $0 * d },
                                      workspace: ws, threads: inner)
                }
            }
        }
        return (0..<n).map { Array(flat[($0 * d)..<(($0 + 1) * d)]) }
    }

    /// Tokenizes with `tokenizer` and embeds the texts.
    /// - Throws: `ModelsError.missingFile` when the model has no tokenizer.
    public func embed(texts: [String], threads: Int = Parallel.defaultThreads) throws -> [[Float]] {
        guard let tokenizer else { throw ModelsError.missingFile(path: "tokenizer.json (the CLIP model was loaded without a tokenizer)") }
        return try embed(tokenIDs: tokenizer.encodeBatch(texts).map(\.ids), threads: threads)
    }
}
