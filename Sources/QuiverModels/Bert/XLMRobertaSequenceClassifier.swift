import Foundation
import QuiverTensor
import QuiverWeights

/// A sequence-pair scorer (a cross-encoder's network): logits for each packed sequence.
public protocol SequenceClassifier: Sendable {
    /// Logits per sequence (`num_labels`; 1 for rerankers).
    var labels: Int { get }
    /// Token ids the embedding table holds.
    var vocabularySize: Int { get }
    /// Longest sequence in tokens, special tokens included.
    var maxSequenceLength: Int { get }
    /// The logits of each packed sequence, computed on the calling thread; `typeIDs` has one
    /// token type per token (models with one token type ignore it).
    func logits(_ batch: TokenBatch, typeIDs: [Int32], workspace: Workspace) -> [[Float]]
}

extension BertSequenceClassifier: SequenceClassifier {
    public var vocabularySize: Int { encoder.vocabularySize }
    public var maxSequenceLength: Int { encoder.maxSequenceLength }
}

/// Loads the sequence classifier a folder's `config.json` names.
public enum SequenceClassifiers {
    /// Architectures `load` runs.
    public static let supported = ["BertForSequenceClassification", "XLMRobertaForSequenceClassification"]

    /// `XLMRobertaSequenceClassifier` for `XLMRobertaForSequenceClassification` (or `model_type`
    /// `xlm-roberta`), else `BertSequenceClassifier`.
    /// - Throws: `ModelsError`/`WeightsError` naming the file or tensor at fault.
    public static func load(folder: URL) throws -> any SequenceClassifier {
        let url = folder.appendingPathComponent("config.json")
        struct Kind: Decodable { var architectures: [String]?; var model_type: String? }
        let kind = try decodeJSONFile(Kind.self, at: url)
        if kind.architectures?.contains("XLMRobertaForSequenceClassification") == true || kind.model_type == "xlm-roberta" {
            return try XLMRobertaSequenceClassifier(folder: folder)
        }
        return try BertSequenceClassifier(folder: folder)
    }
}

/// Hugging Face `XLMRobertaForSequenceClassification` (rerankers such as BAAI/bge-reranker-base):
/// BERT's post-LayerNorm layers, positions counted from `pad_token_id + 1` over the non-padding
/// tokens (`create_position_ids_from_input_ids`), one token type, and RoBERTa's classification
/// head on the first token (`<s>`): dense, tanh, `out_proj` (no pooler).
///
/// Weights: `roberta.*` (or unprefixed), `classifier.dense.*`, `classifier.out_proj.*`.
public struct XLMRobertaSequenceClassifier: SequenceClassifier {
    /// The encoder (XLM-R's layers are BERT's).
    public let encoder: BertModel
    let dense: Linear
    let projection: Linear
    /// Logits per input (`id2label` / `num_labels`; 1 for rerankers).
    public let labels: Int
    let paddingID: Int

    public var vocabularySize: Int { encoder.vocabularySize }
    /// Position rows past the padding offset: `max_position_embeddings − pad_token_id − 1` (512 for XLM-R).
    public var maxSequenceLength: Int { encoder.maxSequenceLength - paddingID - 1 }

    private struct LabelConfig: Decodable {
        var num_labels: Int?
        var id2label: [String: String]?
    }

    /// Loads `config.json` and the weights of a Hugging Face model folder.
    /// - Throws: `ModelsError`/`WeightsError` naming the file or the missing or misshapen tensor.
    public init(folder: URL) throws {
        let configURL = folder.appendingPathComponent("config.json")
        let config = try BertConfig.load(configURL)
        let labelConfig = try decodeJSONFile(LabelConfig.self, at: configURL)
        let labels = labelConfig.id2label?.count ?? labelConfig.num_labels ?? 2
        let source = try Checkpoint.open(in: folder)
        encoder = try BertModel(config: config, weights: HeadlessSource(base: source, hidden: ["classifier."]), modelPrefix: "roberta")
        let h = config.hiddenSize
        func linear(_ name: String, out: Int) throws -> Linear {
            func t(_ n: String, _ shape: [Int]) throws -> Tensor {
                let w = try source.tensor(name + "." + n)
                guard w.shape == shape else {
                    throw ModelsError.invalidConfig(path: source.path, reason: "tensor \(name).\(n) has shape \(w.shape), expected \(shape)")
                }
                return w.tensor
            }
            return Linear(weight: try t("weight", [out, h]), bias: try t("bias", [out]))
        }
        dense = try linear("classifier.dense", out: h)
        projection = try linear("classifier.out_proj", out: labels)
        self.labels = labels
        paddingID = config.padTokenId
        guard config.maxPositionEmbeddings > paddingID + 1 else {
            throw ModelsError.invalidConfig(path: configURL.path, reason: "max_position_embeddings \(config.maxPositionEmbeddings) leaves no positions past pad_token_id \(paddingID)")
        }
    }

    /// The logits of each packed sequence (`[labels]` each), computed on the calling thread.
    public func logits(_ batch: TokenBatch, typeIDs: [Int32], workspace ws: Workspace) -> [[Float]] {
        let h = encoder.config.hiddenSize, t = batch.tokenCount
        let x = ws.buffer(EncoderSlot.hidden, count: max(t, 1) * h)
        let word = encoder.wordEmbeddings.pointer, pos = encoder.positionEmbeddings.pointer, types = encoder.tokenTypeEmbeddings.pointer
        let typeCount = encoder.config.typeVocabSize
        batch.ids.withUnsafeBufferPointer { ids in
            for s in 0..<batch.count {
                let start = batch.offsets[s]
                var position = paddingID
                for p in 0..<batch.length(s) {
                    let k = start + p
                    let id = Int(ids[k])
                    // RoBERTa: padding tokens keep position pad_token_id; the others count up from it.
                    let at: Int
                    if id == paddingID { at = paddingID } else { position += 1; at = position }
                    let row = x + k * h, w = word + id * h, q = pos + at * h
                    let ty = types + min(max(Int(typeIDs[k]), 0), typeCount - 1) * h
                    for c in 0..<h { row[c] = w[c] + q[c] + ty[c] }
                }
            }
        }
        encoder.embeddingNorm.apply(x, rows: t, into: x)
        for layer in encoder.layers { layer.forward(x, batch: batch, bias: nil, workspace: ws) }
        return firstTokenLogits(x, batch: batch, hidden: h, dense: dense, projection: projection, labels: labels)
    }
}
