import Foundation
import QuiverTensor
import QuiverWeights

/// Hugging Face `BertForSequenceClassification` (cross-encoders such as
/// cross-encoder/ms-marco-MiniLM-L6-v2): the BERT encoder on a pair of texts with token types
/// 0/1, the pooler (dense + tanh on the first token) and the classifier (`num_labels` logits).
///
/// Weights: `bert.*` (or unprefixed), `bert.pooler.dense.*`, `classifier.*`.
public struct BertSequenceClassifier: Sendable {
    /// The encoder.
    public let encoder: BertModel
    let pooler: Linear
    let classifier: Linear
    /// Number of logits per input (`num_labels`, from `id2label` or `num_labels` in config.json; 1 for rerankers).
    public let labels: Int

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
        let prefix = source.info("bert.embeddings.word_embeddings.weight") != nil ? "bert." : ""
        encoder = try BertModel(config: config, weights: HeadlessSource(base: source, hidden: ["classifier.", prefix + "pooler."]))
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
        pooler = try linear(prefix + "pooler.dense", out: h)
        classifier = try linear("classifier", out: labels)
        self.labels = labels
    }

    /// The logits of each packed sequence (`[labels]` each), computed on the calling thread.
    /// - Parameter typeIDs: one token type per token of `batch.ids` (0 first text, 1 second).
    public func logits(_ batch: TokenBatch, typeIDs: [Int32], workspace ws: Workspace) -> [[Float]] {
        let h = encoder.config.hiddenSize, t = batch.tokenCount
        let x = ws.buffer(EncoderSlot.hidden, count: max(t, 1) * h)
        let word = encoder.wordEmbeddings.pointer, pos = encoder.positionEmbeddings.pointer, types = encoder.tokenTypeEmbeddings.pointer
        let typeCount = encoder.config.typeVocabSize
        batch.ids.withUnsafeBufferPointer { ids in
            for s in 0..<batch.count {
                let start = batch.offsets[s]
                for p in 0..<batch.length(s) {
                    let k = start + p
                    let row = x + k * h, w = word + Int(ids[k]) * h, q = pos + p * h
                    let ty = types + min(max(Int(typeIDs[k]), 0), typeCount - 1) * h
                    for c in 0..<h { row[c] = w[c] + q[c] + ty[c] }
                }
            }
        }
        encoder.embeddingNorm.apply(x, rows: t, into: x)
        for layer in encoder.layers { layer.forward(x, batch: batch, bias: nil, workspace: ws) }
        return firstTokenLogits(x, batch: batch, hidden: h, dense: pooler, projection: classifier, labels: labels)
    }
}

/// A weight source without some tensors (the task head, which `BertModel` does not read).
struct HeadlessSource: WeightSource {
    let base: WeightSource
    let hidden: [String]
    var path: String { base.path }
    var infos: [WeightInfo] { base.infos.filter { i in !hidden.contains { i.name.hasPrefix($0) } } }
    func info(_ name: String) -> WeightInfo? { hidden.contains { name.hasPrefix($0) } ? nil : base.info(name) }
    func tensor(_ name: String) throws -> WeightTensor { try base.tensor(name) }
    func canonicalName(_ name: String) -> String { base.canonicalName(name) }
}
