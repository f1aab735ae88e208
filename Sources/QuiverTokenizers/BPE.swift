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
        idToToken = c.vocab.tokens
        let t = c.vocab.table()
        table = t
        prefix = (c.continuingSubwordPrefix ?? "").unicodeScalars.map(\.value)
        suffix = (c.endOfWordSuffix ?? "").unicodeScalars.map(\.value)
        fuseUnk = c.fuseUnk
        byteFallback = c.byteFallback
        ignoreMerges = c.ignoreMerges
        if let u = c.unkToken {
            guard let id = t.lookup(u) else { throw TokenizerError.unknownToken(u, context: "BPE unk_token") }
            unkID = Int32(id)
        } else { unkID = -1 }
        byteIDs = byteFallbackIDs(t)

        var m = PairTable(capacity: c.merges.pairs.count)
        let prefixString = c.continuingSubwordPrefix ?? ""
        for (rank, (a, b)) in c.merges.pairs.enumerated() {
            guard let ia = t.lookup(a) else { throw TokenizerError.invalidMerge(line: rank, merge: "\(a) \(b)", reason: "\"\(a)\" is not in the vocabulary") }
            guard let ib = t.lookup(b) else { throw TokenizerError.invalidMerge(line: rank, merge: "\(a) \(b)", reason: "\"\(b)\" is not in the vocabulary") }
            let tail = (!prefixString.isEmpty && b.hasScalarPrefix(prefixString)) ? b.droppingScalars(first: prefixString.unicodeScalars.count) : b
            guard let merged = t.lookup(a.unicodeScalars.map(\.value) + tail.unicodeScalars.map(\.value)) else { throw TokenizerError.invalidMerge(line: rank, merge: "\(a) \(b)", reason: "the merged symbol \"\(a + tail)\" is not in the vocabulary") }
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

    struct Symbol { var id: Int32; var lo: Int32; var hi: Int32 }

    func tokenize(_ buffer: TextBuffer, _ range: Range<Int>, into sink: inout TokenSink) {
        guard !range.isEmpty else { return }
        buffer.scalars.withUnsafeBufferPointer { p in
            let word = UnsafeBufferPointer(rebasing: p[range])
            if ignoreMerges, let id = table.lookup(word) { sink.append(id, range.lowerBound, range.upperBound); return }
            if cache.lookup(word, base: range.lowerBound, into: &sink) { return }
            let capacity = word.count * 4
            withUnsafeTemporaryAllocation(of: Symbol.self, capacity: capacity) { symbols in
                withUnsafeTemporaryAllocation(of: UInt64.self, capacity: capacity) { ranks in
                    let n = merge(word, base: range.lowerBound, symbols, ranks)
                    // Cache only results that tile the word (no dropped characters, no shared byte ranges).
                    var tiles = true
                    var expected = Int32(range.lowerBound)
                    for i in 0..<n {
                        let s = symbols[i]
                        sink.append(s.id, Int(s.lo), Int(s.hi))
                        if s.lo != expected || s.hi <= s.lo { tiles = false }
                        expected = s.hi
                    }
                    if tiles && expected == Int32(range.upperBound) {
                        cache.store(word, UnsafeBufferPointer(rebasing: symbols[0..<n]))
                    }
                }
            }
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

    /// Fills `symbols` with the merged word and returns their count.
    private func merge(_ word: UnsafeBufferPointer<UInt32>, base: Int, _ symbols: UnsafeMutableBufferPointer<Symbol>,
                       _ ranks: UnsafeMutableBufferPointer<UInt64>) -> Int {
        var n = 0
        for i in 0..<word.count {
            let lo = Int32(base + i), hi = lo + 1
            if let id = initialSymbol(word, i) { symbols[n] = Symbol(id: id, lo: lo, hi: hi); n += 1; continue }
            if byteFallback {
                let (count, b) = utf8Bytes(word[i])
                let bytes = [b.0, b.1, b.2, b.3][0..<count]
                if bytes.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                    for byte in bytes { symbols[n] = Symbol(id: byteIDs[Int(byte)], lo: lo, hi: hi); n += 1 }
                    continue
                }
            }
            if unkID >= 0 {
                if fuseUnk, n > 0, symbols[n - 1].id == unkID, symbols[n - 1].hi == lo {
                    symbols[n - 1].hi = hi
                } else {
                    symbols[n] = Symbol(id: unkID, lo: lo, hi: hi); n += 1
                }
            }
        }
        guard n > 1 else { return n }
        // Repeatedly merge the adjacent pair with the lowest rank (leftmost on ties).
        for i in 0..<(n - 1) { ranks[i] = pairRank(symbols[i].id, symbols[i + 1].id) }
        while n > 1 {
            var best = -1
            var bestRank = UInt64.max
            for i in 0..<(n - 1) where ranks[i] < bestRank { bestRank = ranks[i]; best = i }
            if best < 0 { break }
            symbols[best] = Symbol(id: Int32(truncatingIfNeeded: bestRank & 0xFFFF_FFFF), lo: symbols[best].lo, hi: symbols[best + 1].hi)
            // Remove symbol best+1 and rank best.
            var k = best + 1
            while k < n - 1 { symbols[k] = symbols[k + 1]; k += 1 }
            k = best
            while k < n - 2 { ranks[k] = ranks[k + 1]; k += 1 }
            n -= 1
            if best > 0 { ranks[best - 1] = pairRank(symbols[best - 1].id, symbols[best].id) }
            if best < n - 1 { ranks[best] = pairRank(symbols[best].id, symbols[best + 1].id) }
        }
        return n
    }

    @inline(__always) private func pairRank(_ a: Int32, _ b: Int32) -> UInt64 {
        merges.lookup(UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))) ?? .max
    }
}

/// A fixed-size, direct-mapped, thread-safe cache from a word (up to 24 scalars) to its BPE
/// result (token ids and their scalar lengths). Lookups and stores never allocate.
final class WordCache: @unchecked Sendable {
    private static let slots = 4096, maxLength = 24
    private let keys = UnsafeMutablePointer<UInt32>.allocate(capacity: slots * maxLength)
    private let keyLengths = UnsafeMutablePointer<UInt8>.allocate(capacity: slots)
    private let ids = UnsafeMutablePointer<Int32>.allocate(capacity: slots * maxLength)
    private let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: slots * maxLength)
    private let counts = UnsafeMutablePointer<UInt8>.allocate(capacity: slots)
    private let lock = NSLock()

    init() { keyLengths.initialize(repeating: 0, count: Self.slots) }

    deinit {
        keys.deallocate(); keyLengths.deallocate(); ids.deallocate(); lengths.deallocate(); counts.deallocate()
    }

    @inline(__always) private static func slot(_ word: UnsafeBufferPointer<UInt32>) -> Int {
        var h: UInt64 = 0xcbf29ce484222325
        for v in word { h = (h ^ UInt64(v)) &* 0x100000001b3 }
        return Int(truncatingIfNeeded: (h ^ (h >> 29)) & UInt64(slots - 1))
    }

    /// Appends the cached tokens of `word` (starting at buffer position `base`) and returns true, or returns false.
    func lookup(_ word: UnsafeBufferPointer<UInt32>, base: Int, into sink: inout TokenSink) -> Bool {
        guard word.count <= Self.maxLength else { return false }
        let s = Self.slot(word)
        lock.lock(); defer { lock.unlock() }
        guard Int(keyLengths[s]) == word.count else { return false }
        let key = keys + s * Self.maxLength
        for i in 0..<word.count where key[i] != word[i] { return false }
        var pos = base
        let n = Int(counts[s])
        for i in 0..<n {
            let len = Int(lengths[s * Self.maxLength + i])
            sink.append(ids[s * Self.maxLength + i], pos, pos + len)
            pos += len
        }
        return true
    }

    func store(_ word: UnsafeBufferPointer<UInt32>, _ symbols: UnsafeBufferPointer<BPEModel.Symbol>) {
        guard word.count <= Self.maxLength, symbols.count <= Self.maxLength else { return }
        let s = Self.slot(word)
        lock.lock(); defer { lock.unlock() }
        let key = keys + s * Self.maxLength
        for i in 0..<word.count { key[i] = word[i] }
        keyLengths[s] = UInt8(word.count)
        for (i, sym) in symbols.enumerated() {
            ids[s * Self.maxLength + i] = sym.id
            lengths[s * Self.maxLength + i] = UInt8(sym.hi - sym.lo)
        }
        counts[s] = UInt8(symbols.count)
    }
}
