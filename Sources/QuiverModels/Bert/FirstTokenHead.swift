import Foundation
import QuiverTensor

/// The sequence-classification head BERT and XLM-RoBERTa cross-encoders share: each sequence's
/// first-token state through `dense`, tanh, then `projection` to `labels` logits (BERT calls the
/// two layers pooler and classifier, RoBERTa dense and out_proj).
func firstTokenLogits(_ x: UnsafeMutablePointer<Float>, batch: TokenBatch, hidden h: Int,
                      dense: Linear, projection: Linear, labels: Int) -> [[Float]] {
    var out: [[Float]] = []
    var first = [Float](repeating: 0, count: h), hidden = [Float](repeating: 0, count: h), logits = [Float](repeating: 0, count: labels)
    for s in 0..<batch.count {
        let row = x + batch.offsets[s] * h
        for c in 0..<h { first[c] = row[c] }
        first.withUnsafeBufferPointer { f in hidden.withUnsafeMutableBufferPointer { d in
            dense.apply(f.baseAddress!, rows: 1, into: d.baseAddress!)
        } }
        for c in 0..<h { hidden[c] = Foundation.tanh(hidden[c]) }
        hidden.withUnsafeBufferPointer { d in logits.withUnsafeMutableBufferPointer { l in
            projection.apply(d.baseAddress!, rows: 1, into: l.baseAddress!)
        } }
        out.append(logits)
    }
    return out
}
