/// Sequences of token ids packed end to end, without padding: sequence `s` occupies tokens
/// `offsets[s] ..< offsets[s+1]` of `ids`. Encoders compute on the packed form, so a batch of
/// mixed lengths costs exactly its total token count.
public struct TokenBatch: Sendable, Equatable {
    /// All token ids, sequence after sequence.
    public let ids: [Int32]
    /// `count + 1` offsets into `ids`; the first is 0, the last `ids.count`.
    public let offsets: [Int]

    /// Packs `sequences`.
    public init<S: Sequence>(_ sequences: S) where S.Element: Collection, S.Element.Element: BinaryInteger {
        var ids: [Int32] = []
        var offsets = [0]
        for s in sequences {
            ids.append(contentsOf: s.map { Int32(truncatingIfNeeded: $0) })
            offsets.append(ids.count)
        }
        self.ids = ids
        self.offsets = offsets
    }

    /// Number of sequences.
    public var count: Int { offsets.count - 1 }
    /// Total number of tokens.
    public var tokenCount: Int { ids.count }
    /// Token range of sequence `s`.
    public func range(_ s: Int) -> Range<Int> { offsets[s]..<offsets[s + 1] }
    /// Length of sequence `s`.
    public func length(_ s: Int) -> Int { offsets[s + 1] - offsets[s] }
    /// The longest sequence's length (0 when empty).
    public var maxLength: Int { (0..<count).map(length).max() ?? 0 }

    /// Checks every id against the vocabulary and every length against the position table.
    /// - Throws: `ModelsError.invalidTokenID` or `.sequenceTooLong`, naming the sequence and position.
    public func validate(vocabularySize: Int, maxLength: Int) throws {
        for s in 0..<count {
            if length(s) > maxLength { throw ModelsError.sequenceTooLong(sequence: s, length: length(s), maximum: maxLength) }
            for t in range(s) where ids[t] < 0 || Int(ids[t]) >= vocabularySize {
                throw ModelsError.invalidTokenID(sequence: s, position: t - offsets[s], id: Int(ids[t]), vocabularySize: vocabularySize)
            }
        }
    }
}
