import QuiverTensor

/// A transformer text encoder as a pure forward pass: token ids in, one hidden state per token out.
public protocol TextEncoder: Sendable {
    /// Width of the hidden states (384 for MiniLM-L6, 768 for base models).
    var hiddenSize: Int { get }
    /// Number of token ids the embedding table holds.
    var vocabularySize: Int { get }
    /// The longest sequence the position table allows.
    var maxSequenceLength: Int { get }

    /// Runs the encoder on a packed batch (validated by the caller, see `TokenBatch.validate`) on the
    /// calling thread, using `workspace` for every intermediate.
    /// - Returns: the last hidden states `[batch.tokenCount, hiddenSize]`, row-major, in the order of
    ///   `batch.ids`. The memory belongs to `workspace` and stays valid until its next use.
    func forward(_ batch: TokenBatch, workspace: Workspace) -> UnsafeMutablePointer<Float>
}

extension TextEncoder {
    /// The last hidden states of each sequence, `[length, hiddenSize]` each (allocating; for tests and
    /// one-off use). Single-threaded.
    /// - Throws: `ModelsError` for an invalid id or a sequence that is too long.
    public func hiddenStates<S: Sequence>(_ sequences: S) throws -> [Tensor] where S.Element: Collection, S.Element.Element: BinaryInteger {
        let batch = TokenBatch(sequences)
        try batch.validate(vocabularySize: vocabularySize, maxLength: maxSequenceLength)
        let ws = Workspace()
        let h = forward(batch, workspace: ws)
        return (0..<batch.count).map { s in
            let t = Tensor(zeros: [batch.length(s), hiddenSize])
            t.mutablePointer.update(from: h + batch.offsets[s] * hiddenSize, count: batch.length(s) * hiddenSize)
            return t
        }
    }
}

/// Workspace slots the encoders share (one `Workspace` per thread).
enum EncoderSlot {
    static let hidden = 0, qkv = 1, context = 2, projected = 3, intermediate = 4, scratch = 5, positionBias = 6, int8Scratch = 7
    /// Used by `QuantizedLinear.apply` for the outlier channels' float32 inputs (`int8Scratch + 1`).
    static let int8Split = 8
}
