import Foundation

/// Byte-pair encoding: each word starts as its characters (with the continuing-subword prefix on
/// all but the first and the end-of-word suffix on the last), then the lowest-ranked adjacent pair
/// is merged until no pair is in the merge table. Unknown characters become byte tokens
/// (`byte_fallback`) or the unk token (consecutive ones fused with `fuse_unk`), or are dropped
/// when there is no unk token, as Hugging Face does. Results are cached per word.
final class BPEModel: TokenModel, @unchecked Sendable {
    let idToToken: [String]
    let table: ScalarTable
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: PairTable
    let unkID: Int32
    let prefix: [UInt32]
    let suffix: [UInt32]
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let byteIDs: [Int32]
    /// Single-scalar symbol ids for the common case (no prefix on position, no suffix), scalar < 0x3000.
    private let plainChar: [Int32]
    private let suffixedChar: [Int32]
    private let prefixedChar: [Int32]

    private let cache = WordCache()

    init(_ c: ModelConfig.BPEConfig) throws {
        idToToken = invertVocabulary(c.vocab)
        var t = ScalarTable(capacity: c.vocab.count)
        for (id, token) in idToToken.enumerated() where c.vocab[token] == id { t.insert(token.unicodeScalars.map(\.value), Int32(id)) }
        table = t
        prefix = (c.continuingSubwordPrefix ?? "").unicodeScalars.map(\.value)
        suffix = (c.endOfWordSuffix ?? "").unicodeScalars.map(\.value)
        fuseUnk = c.fuseUnk
        byteFallback = c.byteFallback
        ignoreMerges = c.ignoreMerges
        if let u = c.unkToken {
            guard let id = c.vocab[u] else { throw TokenizerError.unknownToken(u, context: "BPE unk_token") }
            unkID = Int32(id)
        } else { unkID = -1 }
        byteIDs = byteFallbackIDs(t)

        var m = PairTable(capacity: c.merges.pairs.count)
        let prefixString = c.continuingSubwordPrefix ?? ""
        for (rank, (a, b)) in c.merges.pairs.enumerated() {
            guard let ia = c.vocab[a] else { throw TokenizerError.invalidMerge(line: rank, merge: "\(a) \(b)", reason: "\"\(a)\" is not in the vocabulary") }
            guard let ib = c.vocab[b] else { throw TokenizerError.invalidMerge(line: rank, merge: "\(a) \(b)", reason: "\"\(b)\" is not in the vocabulary") }
            let tail = (!prefixString.isEmpty && b.hasScalarPrefix(prefixString)) ? b.droppingScalars(first: prefixString.unicodeScalars.count) : b
            guard let merged = c.vocab[a + tail] else { throw TokenizerError.invalidMerge(line: rank, merge: "\(a) \(b)", reason: "the merged symbol \"\(a + tail)\" is not in the vocabulary") }
            m.insert(UInt64(ia) << 32 | UInt64(ib), UInt64(rank) << 32 | UInt64(merged))
        }
        merges = m

        let limit = 0x3000
        var plain = [Int32](repeating: -1, count: limit), suff = plain, pref = plain
        for v in 0..<limit {
            let s = UInt32(v)
            plain[v] = t.lookup([s]) ?? -1
            suff[v] = t.lookup([s] + suffix) ?? -1
            pref[v] = t.lookup(prefix + [s]) ?? -1
        }
        plainChar = plain; suffixedChar = suff; prefixedChar = pref
    }

    private struct Symbol { var id: Int32; var lo: Int32; var hi: Int32 }

    func tokenize(_ buffer: TextBuffer, _ range: Range<Int>, into sink: inout TokenSink) {
        guard !range.isEmpty else { return }
        buffer.scalars.withUnsafeBufferPointer { p in
            let word = UnsafeBufferPointer(rebasing: p[range])
            if ignoreMerges, let id = table.lookup(word) { sink.append(id, range.lowerBound, range.upperBound); return }
            if let cached = cache.get(word) {
                // Cached entries store ids and scalar lengths relative to the word.
                var pos = range.lowerBound
                for (id, len) in cached { sink.append(id, pos, pos + Int(len)); pos += Int(len) }
                return
            }
            let symbols = merge(word, base: range.lowerBound)
            var entry: [(Int32, Int32)] = []
            entry.reserveCapacity(symbols.count)
            var ok = true
            var expected = Int32(range.lowerBound)
            for s in symbols {
                sink.append(s.id, Int(s.lo), Int(s.hi))
                if s.lo != expected { ok = false }  // dropped characters or shared ranges: do not cache
                entry.append((s.id, s.hi - s.lo)); expected = s.hi
            }
            if ok && expected == Int32(range.upperBound) && symbols.allSatisfy({ $0.hi > $0.lo }) { cache.put(word, entry) }
        }
    }

    private func initialSymbol(_ word: UnsafeBufferPointer<UInt32>, _ i: Int) -> Int32? {
        let v = word[i]
        let first = i == 0, last = i == word.count - 1
        let needPrefix = !first && !prefix.isEmpty, needSuffix = last && !suffix.isEmpty
        if Int(v) < plainChar.count && !(needPrefix && needSuffix) {
            let id = needSuffix ? suffixedChar[Int(v)] : needPrefix ? prefixedChar[Int(v)] : plainChar[Int(v)]
            return id >= 0 ? id : nil
        }
        var key: [UInt32] = []
        if !first { key += prefix }
        key.append(v)
        if last { key += suffix }
        return table.lookup(key)
    }

    private func merge(_ word: UnsafeBufferPointer<UInt32>, base: Int) -> [Symbol] {
        var symbols: [Symbol] = []
        symbols.reserveCapacity(word.count)
        for i in 0..<word.count {
            let lo = Int32(base + i), hi = lo + 1
            if let id = initialSymbol(word, i) { symbols.append(Symbol(id: id, lo: lo, hi: hi)); continue }
            if byteFallback {
                let (n, b) = utf8Bytes(word[i])
                let bytes = [b.0, b.1, b.2, b.3][0..<n]
                if bytes.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                    for byte in bytes { symbols.append(Symbol(id: byteIDs[Int(byte)], lo: lo, hi: hi)) }
                    continue
                }
            }
            if unkID >= 0 {
                if fuseUnk, let last = symbols.last, last.id == unkID, last.hi == lo {
                    symbols[symbols.count - 1].hi = hi
                } else {
                    symbols.append(Symbol(id: unkID, lo: lo, hi: hi))
                }
            }
        }
        // Repeatedly merge the adjacent pair with the lowest rank (leftmost on ties).
        guard symbols.count > 1 else { return symbols }
        var ranks = [UInt64](repeating: .max, count: symbols.count - 1)
        for i in 0..<(symbols.count - 1) { ranks[i] = merges.lookup(UInt64(UInt32(bitPattern: symbols[i].id)) << 32 | UInt64(UInt32(bitPattern: symbols[i + 1].id))) ?? .max }
        while symbols.count > 1 {
            var best = -1
            var bestRank = UInt64.max
            for i in 0..<ranks.count where ranks[i] < bestRank { bestRank = ranks[i]; best = i }
            if best < 0 { break }
            symbols[best] = Symbol(id: Int32(truncatingIfNeeded: bestRank & 0xFFFF_FFFF), lo: symbols[best].lo, hi: symbols[best + 1].hi)
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            if best > 0 { ranks[best - 1] = pairRank(symbols[best - 1].id, symbols[best].id) }
            if best < ranks.count { ranks[best] = pairRank(symbols[best].id, symbols[best + 1].id) }
        }
        return symbols
    }

    @inline(__always) private func pairRank(_ a: Int32, _ b: Int32) -> UInt64 {
        merges.lookup(UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))) ?? .max
    }
}

/// A bounded, thread-safe cache from a word's scalars to its BPE result.
final class WordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var map: [[UInt32]: [(Int32, Int32)]] = [:]
    private let capacity = 10_000

    func get(_ word: UnsafeBufferPointer<UInt32>) -> [(Int32, Int32)]? {
        let key = Array(word)
        lock.lock(); defer { lock.unlock() }
        return map[key]
    }

    func put(_ word: UnsafeBufferPointer<UInt32>, _ value: [(Int32, Int32)]) {
        lock.lock(); defer { lock.unlock() }
        if map.count < capacity { map[Array(word)] = value }
    }
}
