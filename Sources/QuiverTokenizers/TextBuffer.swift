/// A run of Unicode scalars with, for each scalar, the range of original-text scalars it came
/// from (HF's `NormalizedString` alignments, in scalar units rather than bytes).
struct TextBuffer: Sendable {
    var scalars: [UInt32] = []
    var starts: [Int32] = []
    var ends: [Int32] = []

    init() {}

    init(reservingCapacity n: Int) {
        scalars.reserveCapacity(n); starts.reserveCapacity(n); ends.reserveCapacity(n)
    }

    /// The original text itself, each scalar aligned to itself, offset by `base`.
    init(original: ArraySlice<UInt32>, base: Int) {
        scalars = Array(original)
        let n = original.count
        starts = [Int32](unsafeUninitializedCapacity: n) { b, c in for i in 0..<n { b[i] = Int32(base + i) }; c = n }
        ends = [Int32](unsafeUninitializedCapacity: n) { b, c in for i in 0..<n { b[i] = Int32(base + i + 1) }; c = n }
    }

    var count: Int { scalars.count }
    var isEmpty: Bool { scalars.isEmpty }

    @inline(__always) mutating func append(_ s: UInt32, start: Int32, end: Int32) {
        scalars.append(s); starts.append(start); ends.append(end)
    }

    @inline(__always) mutating func append(from other: TextBuffer, _ i: Int) {
        scalars.append(other.scalars[i]); starts.append(other.starts[i]); ends.append(other.ends[i])
    }

    mutating func append(from other: TextBuffer, range: Range<Int>) {
        guard !range.isEmpty else { return }
        other.scalars.withUnsafeBufferPointer { scalars.append(contentsOf: UnsafeBufferPointer(rebasing: $0[range])) }
        other.starts.withUnsafeBufferPointer { starts.append(contentsOf: UnsafeBufferPointer(rebasing: $0[range])) }
        other.ends.withUnsafeBufferPointer { ends.append(contentsOf: UnsafeBufferPointer(rebasing: $0[range])) }
    }

    mutating func removeAll() {
        scalars.removeAll(keepingCapacity: true); starts.removeAll(keepingCapacity: true); ends.removeAll(keepingCapacity: true)
    }

    /// The original range covered by `range` of this buffer (empty ranges map to an empty original range).
    func originalRange(_ range: Range<Int>) -> Range<Int> {
        if range.isEmpty {
            if range.lowerBound < count { let s = Int(starts[range.lowerBound]); return s..<s }
            if let e = ends.last { return Int(e)..<Int(e) }
            return 0..<0
        }
        let s = Int(starts[range.lowerBound]), e = Int(ends[range.upperBound - 1])
        return s..<max(s, e)
    }

    func string(_ range: Range<Int>) -> String {
        var s = String.UnicodeScalarView()
        for v in scalars[range] { if let u = Unicode.Scalar(v) { s.append(u) } }
        return String(s)
    }
}

/// One split of the text being tokenized: a range of the shared buffer, or a token already
/// decided (an added/special token found in the text).
struct Piece: Sendable {
    var lo: Int
    var hi: Int
    /// The id of an added token, or -1 for text still to tokenize.
    var token: Int32 = -1
    /// Original range (used for added-token pieces).
    var original: Range<Int> = 0..<0
    /// The matched text when it differs from the token's content (lstrip/rstrip took whitespace).
    var text: String? = nil
}

/// The text after normalization and pre-tokenization: a buffer and its ordered pieces.
struct PreTokenizedText: Sendable {
    var buffer: TextBuffer
    var pieces: [Piece]

    /// Splits each text piece into sub-ranges of the same buffer (for pre-tokenizers that do not
    /// rewrite text). `split` calls `emit(lo, hi)` for each new piece, in order.
    mutating func splitInPlace(_ split: (_ input: TextBuffer, _ range: Range<Int>, _ emit: (Int, Int) -> Void) -> Void) {
        var newPieces: [Piece] = []
        newPieces.reserveCapacity(pieces.count + buffer.count / 4 + 4)
        for p in pieces {
            if p.token >= 0 { newPieces.append(p); continue }
            split(buffer, p.lo..<p.hi) { lo, hi in
                if hi > lo { newPieces.append(Piece(lo: lo, hi: hi)) }
            }
        }
        pieces = newPieces
    }

    /// Rebuilds the buffer by running `transform` on each text piece. `transform` appends the
    /// piece's new content to `out` and calls `emit(lo, hi)` (ranges of `out`) for each new piece.
    mutating func splitEach(_ transform: (_ input: TextBuffer, _ range: Range<Int>, _ isFirst: Bool, _ out: inout TextBuffer, _ emit: (Int, Int) -> Void) -> Void) {
        var out = TextBuffer(reservingCapacity: buffer.count + 8)
        var newPieces: [Piece] = []
        newPieces.reserveCapacity(pieces.count + buffer.count / 4 + 4)
        var first = true
        for p in pieces {
            if p.token >= 0 { newPieces.append(p); first = false; continue }
            transform(buffer, p.lo..<p.hi, first, &out) { lo, hi in
                if hi > lo { newPieces.append(Piece(lo: lo, hi: hi)) }
            }
            first = false
        }
        buffer = out
        pieces = newPieces
    }
}

/// How a delimiter found by a pre-tokenizer is kept (HF `SplitDelimiterBehavior`).
public enum SplitBehavior: String, Sendable, Decodable {
    /// The delimiter is dropped.
    case removed = "Removed"
    /// The delimiter becomes a piece of its own.
    case isolated = "Isolated"
    /// The delimiter is appended to the piece before it.
    case mergedWithPrevious = "MergedWithPrevious"
    /// The delimiter is prepended to the piece after it.
    case mergedWithNext = "MergedWithNext"
    /// Consecutive delimiters form one piece of their own.
    case contiguous = "Contiguous"
}

/// Applies a split behaviour to a list of `(range, isDelimiter)` segments that tile the input,
/// returning the kept pieces (non-empty) in order.
func applySplitBehavior(_ segments: [(Int, Int, Bool)], _ behavior: SplitBehavior, into result: inout [(Int, Int)]) {
    switch behavior {
    case .removed:
        for (lo, hi, d) in segments where !d { result.append((lo, hi)) }
    case .isolated:
        for (lo, hi, _) in segments { result.append((lo, hi)) }
    case .mergedWithPrevious:
        var previous = false
        let base = result.count
        for (lo, hi, d) in segments {
            if d && !previous && result.count > base { result[result.count - 1].1 = hi } else { result.append((lo, hi)) }
            previous = d
        }
    case .mergedWithNext:
        var previous = false
        var acc: [(Int, Int)] = []
        for (lo, hi, d) in segments.reversed() {
            if d && !previous && !acc.isEmpty { acc[acc.count - 1].0 = lo } else { acc.append((lo, hi)) }
            previous = d
        }
        result.append(contentsOf: acc.reversed())
    case .contiguous:
        var previous = false
        let base = result.count
        for (lo, hi, d) in segments {
            if d == previous && result.count > base { result[result.count - 1].1 = hi } else { result.append((lo, hi)) }
            previous = d
        }
    }
}

/// Turns a list of delimiter matches (sorted, non-overlapping, within `range`) into tiling segments.
func segmentsFromMatches(_ matches: [(Int, Int)], in range: Range<Int>, invert: Bool) -> [(Int, Int, Bool)] {
    var segs: [(Int, Int, Bool)] = []
    segs.reserveCapacity(matches.count * 2 + 1)
    var pos = range.lowerBound
    for (lo, hi) in matches {
        if lo > pos { segs.append((pos, lo, invert)) }
        segs.append((lo, hi, !invert))
        pos = hi
    }
    if pos < range.upperBound { segs.append((pos, range.upperBound, invert)) }
    return segs
}
