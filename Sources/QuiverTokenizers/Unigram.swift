/// Unigram (SentencePiece): the segmentation with the highest total log-probability (Viterbi over
/// all vocabulary pieces that match at each position). A character no piece covers becomes the
/// unk piece with score `min_score - 10`; consecutive unknowns are fused; with `byte_fallback` an
/// unknown piece becomes its `<0xXX>` byte tokens when they all exist.
struct UnigramModel: TokenModel {
    let idToToken: [String]
    let scores: [Double]
    let unkID: Int32
    let byteFallback: Bool
    let byteIDs: [Int32]
    let table: ScalarTable
    /// Trie: (node << 32 | scalar) → child node; `terminal[node]` is the piece id ending there or -1.
    private let children: PairTable
    private let terminal: [Int32]
    private let unkScore: Double

    init(vocab: [UnigramPiece], unkID: Int?, byteFallback: Bool) throws {
        idToToken = vocab.map(\.piece)
        scores = vocab.map(\.score)
        if let u = unkID {
            guard u >= 0 && u < vocab.count else { throw TokenizerError.invalidConfig(path: "model", reason: "Unigram unk_id \(u) is outside the vocabulary of \(vocab.count) pieces") }
            self.unkID = Int32(u)
        } else { self.unkID = -1 }
        self.byteFallback = byteFallback
        var t = ScalarTable(capacity: vocab.count)
        var totalScalars = 0
        for (id, p) in vocab.enumerated() { let k = p.piece.unicodeScalars.map(\.value); totalScalars += k.count; t.insert(k, Int32(id)) }
        table = t
        byteIDs = byteFallbackIDs(t)
        var ch = PairTable(capacity: totalScalars + 1)
        var term: [Int32] = [-1]
        for (id, p) in vocab.enumerated() {
            var node: UInt64 = 0
            for s in p.piece.unicodeScalars {
                let key = node << 32 | UInt64(s.value)
                if let next = ch.lookup(key) { node = next } else {
                    let next = UInt64(term.count)
                    term.append(-1)
                    ch.insert(key, next)
                    node = next
                }
            }
            if term[Int(node)] < 0 { term[Int(node)] = Int32(id) }
        }
        children = ch
        terminal = term
        unkScore = (scores.min() ?? 0) - 10.0
    }

    func tokenize(_ buffer: TextBuffer, _ range: Range<Int>, into sink: inout TokenSink) {
        let n = range.count
        guard n > 0 else { return }
        let base = range.lowerBound
        // bestScore[i], bestStart[i], bestID[i]: best path ending at position i (relative).
        var bestScore = [Double](repeating: 0, count: n + 1)
        var bestStart = [Int](repeating: -1, count: n + 1)
        var bestID = [Int32](repeating: -1, count: n + 1)
        bestStart[0] = 0
        buffer.scalars.withUnsafeBufferPointer { p in
            for start in 0..<n where bestStart[start] >= 0 {
                let here = bestScore[start]
                var node: UInt64 = 0
                var hasSingle = false
                var end = start
                while end < n, let next = children.lookup(node << 32 | UInt64(p[base + end])) {
                    node = next
                    end += 1
                    let id = terminal[Int(node)]
                    if id >= 0 {
                        let candidate = here + scores[Int(id)]
                        if bestStart[end] < 0 || candidate > bestScore[end] {
                            bestScore[end] = candidate; bestStart[end] = start; bestID[end] = id
                        }
                        if end == start + 1 { hasSingle = true }
                    }
                }
                if !hasSingle && unkID >= 0 {
                    let candidate = here + unkScore
                    if bestStart[start + 1] < 0 || candidate > bestScore[start + 1] {
                        bestScore[start + 1] = candidate; bestStart[start + 1] = start; bestID[start + 1] = unkID
                    }
                }
            }
        }
        guard bestStart[n] >= 0 else { return }
        // Backtrack, fusing consecutive unknown pieces.
        var pieces: [(Int, Int, Int32)] = []
        var end = n
        while end > 0 {
            let start = bestStart[end], id = bestID[end]
            if id == unkID, let last = pieces.last, last.2 == unkID, last.0 == end {
                pieces[pieces.count - 1].0 = start
            } else {
                pieces.append((start, end, id))
            }
            end = start
        }
        for (lo, hi, id) in pieces.reversed() {
            if id != unkID {
                sink.append(id, base + lo, base + hi)
                continue
            }
            let text = buffer.string((base + lo)..<(base + hi))
            // A fused run may itself be a piece (HF looks the string up again).
            if let known = buffer.scalars.withUnsafeBufferPointer({ table.lookup(UnsafeBufferPointer(rebasing: $0[(base + lo)..<(base + hi)])) }), known != unkID {
                sink.append(known, base + lo, base + hi)
                continue
            }
            if byteFallback {
                let bytes = Array(text.utf8)
                if bytes.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                    for b in bytes { sink.append(byteIDs[Int(b)], base + lo, base + hi) }
                    continue
                }
            }
            sink.overrides[sink.ids.count] = text
            sink.append(unkID, base + lo, base + hi)
        }
    }
}
