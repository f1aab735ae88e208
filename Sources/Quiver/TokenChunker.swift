import Foundation
import QuiverTokenizers

/// One chunk of a document or text file cut by a model's tokens, with where it lies.
public struct TokenChunk: Sendable, Hashable {
    /// The chunk's text.
    public var text: String
    /// Unicode-scalar offsets of the chunk in the text that was chunked.
    public var start: Int
    /// One past its last character.
    public var end: Int
    /// Tokens the model sees for it, special tokens included (never more than its limit).
    public var tokens: Int
    /// 1-based page (PDF; ODT with page breaks), else nil.
    public var page: Int?
    /// The heading it falls under, else nil.
    public var section: String?
}

/// Cuts text into chunks that fit a text model: each chunk, with the tokenizer's special tokens,
/// has at most `maxTokens` tokens, so nothing is ever truncated when it is embedded. Consecutive
/// chunks overlap by about `overlap` tokens. A cut is made, in order of preference, at a paragraph
/// break, the end of a sentence, a line break, then between words, in the last half of the window;
/// chunks never cross a segment boundary (a page or section of a document).
public struct TokenChunker: Sendable {
    /// The model's tokenizer (padding and truncation off).
    public let tokenizer: Tokenizer
    /// Longest token sequence the model reads, special tokens included.
    public let maxTokens: Int
    /// Tokens shared by consecutive chunks of a long segment.
    public let overlap: Int
    /// Special tokens the tokenizer adds to every text ([CLS] and [SEP]: 2).
    public let specialTokens: Int

    /// A chunker for a model reading `maxTokens` tokens; `overlap` is capped at a quarter of it.
    public init(tokenizer: Tokenizer, maxTokens: Int, overlap: Int = 32) {
        var t = tokenizer
        t.padding = nil; t.truncation = nil
        self.tokenizer = t
        specialTokens = max(0, t.encode("").count - t.encode("", addSpecialTokens: false).count)
        self.maxTokens = max(specialTokens + 8, maxTokens)
        self.overlap = min(max(0, overlap), (maxTokens - specialTokens) / 4)
    }

    /// Chunks of a plain text (one segment).
    public func chunks(of text: String) -> [TokenChunk] {
        chunks(of: text, segments: [(0, text.unicodeScalars.count, nil, nil)])
    }

    /// Chunks of a text whose parts (Unicode-scalar ranges, with page and section) are chunked separately.
    public func chunks(of text: String, segments: [(start: Int, end: Int, page: Int?, section: String?)]) -> [TokenChunk] {
        let scalars = Array(text.unicodeScalars)
        var out: [TokenChunk] = []
        for seg in segments {
            let a = max(0, min(seg.start, scalars.count)), b = max(a, min(seg.end, scalars.count))
            chunkSegment(scalars, a, b) { s, e in
                var v = String.UnicodeScalarView(); v.append(contentsOf: scalars[s..<e])
                let t = String(v)
                out.append(TokenChunk(text: t, start: s, end: e, tokens: tokenizer.encode(t).count, page: seg.page, section: seg.section))
            }
        }
        return out
    }

    /// How good a cut before token `j` is (higher is better), from the text between tokens j-1 and j.
    private func quality(_ scalars: [Unicode.Scalar], _ prevEnd: Int, _ nextStart: Int) -> Int {
        guard nextStart > prevEnd else { return 0 }   // inside a word
        let gap = scalars[prevEnd..<nextStart]
        let newlines = gap.filter { $0 == "\n" }.count
        if newlines >= 2 { return 4 }
        if prevEnd > 0, ".!?。！？".unicodeScalars.contains(scalars[prevEnd - 1]) { return 3 }
        if newlines == 1 { return 2 }
        return gap.contains(where: { $0.properties.isWhitespace }) ? 1 : 0
    }

    private func chunkSegment(_ scalars: [Unicode.Scalar], _ a: Int, _ b: Int, emit: (Int, Int) -> Void) {
        var sub = String.UnicodeScalarView(); sub.append(contentsOf: scalars[a..<b])
        let enc = tokenizer.encode(String(sub), addSpecialTokens: false)
        // Token offsets relative to the whole text, dropping tokens without a span.
        let offs = enc.offsets.filter { !$0.isEmpty }.map { (a + $0.lowerBound)..<(a + $0.upperBound) }
        let n = offs.count
        guard n > 0 else { return }
        let budget = maxTokens - specialTokens
        func fits(_ s: Int, _ e: Int) -> Bool {
            var v = String.UnicodeScalarView(); v.append(contentsOf: scalars[s..<e])
            return tokenizer.encode(String(v)).count <= maxTokens
        }
        var first = 0
        while first < n {
            var last = min(n, first + budget)   // exclusive token index
            if last < n {
                // The best cut in the second half of the window; ties go to the later one.
                var best = last, bestQ = -1
                var j = last
                while j > first + max(1, budget / 2) {
                    let q = quality(scalars, offs[j - 1].upperBound, offs[j].lowerBound)
                    if q > bestQ { best = j; bestQ = q }
                    if q == 4 { break }
                    j -= 1
                }
                last = best
            }
            // The text re-tokenized on its own may differ at the edges: shrink until it fits.
            while last > first + 1, !fits(offs[first].lowerBound, offs[last - 1].upperBound) {
                last -= max(1, (last - first) / 16)
            }
            emit(offs[first].lowerBound, offs[last - 1].upperBound)
            if last >= n { break }
            // Start the next chunk `overlap` tokens back, at a word start (a sentence start if one is there).
            var next = max(first + 1, last - overlap)
            var k = next, bestK = -1, bestQ = 0
            while k < last {
                let q = quality(scalars, offs[k - 1].upperBound, offs[k].lowerBound)
                if q > bestQ { bestK = k; bestQ = q; if q >= 3 { break } }
                k += 1
            }
            if bestK > 0 { next = bestK } else if overlap == 0 || next >= last { next = last }
            first = next
        }
    }
}
