/// WordPiece: greedy longest-match-first over each word; continuation pieces carry a prefix
/// (`##`); a word with an unmatched remainder, or longer than `maxInputCharsPerWord`, is `[UNK]`.
struct WordPieceModel: TokenModel {
    let idToToken: [String]
    let table: ScalarTable
    /// Vocabulary entries that start with the prefix, keyed without it.
    let continuation: ScalarTable
    let unkID: Int32
    let maxInputCharsPerWord: Int

    init(vocab: Vocabulary, unkToken: String, continuingSubwordPrefix: String, maxInputCharsPerWord: Int) throws {
        idToToken = vocab.tokens
        table = vocab.table()
        var cont = ScalarTable(capacity: vocab.count)
        let prefix = continuingSubwordPrefix.unicodeScalars.map(\.value)
        for (id, token) in idToToken.enumerated() where !token.isEmpty {
            let key = token.unicodeScalars.map(\.value)
            if key.count >= prefix.count && Array(key[0..<prefix.count]) == prefix {
                cont.insert(Array(key[prefix.count...]), Int32(id))
            }
        }
        continuation = cont
        guard let unk = table.lookup(unkToken) else { throw TokenizerError.unknownToken(unkToken, context: "WordPiece unk_token") }
        unkID = unk
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    func tokenize(_ buffer: TextBuffer, _ range: Range<Int>, into sink: inout TokenSink) {
        if range.count > maxInputCharsPerWord { sink.append(unkID, range.lowerBound, range.upperBound); return }
        let mark = sink.ids.count
        let ok: Bool = buffer.scalars.withUnsafeBufferPointer { p in
            var start = range.lowerBound
            while start < range.upperBound {
                var end = range.upperBound
                var found: Int32 = -1
                let isFirst = start == range.lowerBound
                while start < end {
                    let key = UnsafeBufferPointer(rebasing: p[start..<end])
                    if let id = isFirst ? table.lookup(key) : continuation.lookup(key) { found = id; break }
                    end -= 1
                }
                if found < 0 { return false }
                sink.append(found, start, end)
                start = end
            }
            return true
        }
        if !ok {
            sink.ids.removeSubrange(mark...); sink.los.removeSubrange(mark...); sink.his.removeSubrange(mark...)
            sink.append(unkID, range.lowerBound, range.upperBound)
        }
    }
}
