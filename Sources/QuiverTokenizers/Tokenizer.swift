import Dispatch
import Foundation

/// A Hugging Face `tokenizers` pipeline: added tokens → normalizer → pre-tokenizer → model →
/// truncation → post-processor → padding. Load it from a tokenizer.json and share it freely
/// across threads (it is an immutable value apart from its `truncation`/`padding` settings).
///
/// ```swift
/// var tokenizer = try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
/// tokenizer.padding = nil            // the file's padding section applies unless overridden
/// tokenizer.maxLength = 256          // sentence-transformers' max_seq_length
/// let e = tokenizer.encode("A man is playing a guitar.")
/// e.ids            // [101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102]
/// ```
public struct Tokenizer: Sendable {
    /// Truncation applied by `encode` (from the file's `truncation`; nil = none).
    public var truncation: Truncation?
    /// Padding applied by `encode` (fixed length) and `encodeBatch` (from the file's `padding`; nil = none).
    public var padding: Padding?

    let normalizer: (any Normalizer)?
    let preTokenizer: (any PreTokenizer)?
    let model: any TokenModel
    let postProcessor: (any PostProcessor)?
    let decoder: (any TokenDecoder)?
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// The added tokens of the file.
    public let addedTokens: [AddedToken]
    let idToTokenTable: [String]
    let tokenToIDTable: ScalarTable
    let specialIDs: Set<Int>
    /// Scalar length of each added token's content by id (to tell when a match took whitespace).
    let addedLengths: [Int: Int]

    /// Loads a tokenizer.json file.
    public init(contentsOf url: URL) throws {
        try self.init(config: TokenizerConfig(contentsOf: url), source: url.path)
    }

    /// Loads tokenizer.json content.
    public init(data: Data, source: String = "<data>") throws {
        try self.init(config: TokenizerConfig(data: data, source: source), source: source)
    }

    /// Builds the pipeline from a decoded configuration.
    public init(config: TokenizerConfig, source: String = "<config>") throws {
        truncation = config.truncation
        padding = config.padding
        normalizer = try config.normalizer.map(makeNormalizer)
        preTokenizer = try config.preTokenizer.map(makePreTokenizer)
        model = try makeModel(config.model)
        postProcessor = try config.postProcessor.map(makePostProcessor)
        decoder = try config.decoder.map(makeDecoder)
        addedTokens = config.addedTokens

        var table = model.idToToken
        for t in config.addedTokens {
            if t.id >= table.count { table += [String](repeating: "", count: t.id - table.count + 1) }
            table[t.id] = t.content
        }
        idToTokenTable = table
        var map = ScalarTable(capacity: table.count)
        for t in config.addedTokens { map.insert(t.content.unicodeScalars.map(\.value), Int32(t.id)) }
        for (i, t) in table.enumerated() where !t.isEmpty { map.insert(t.unicodeScalars.map(\.value), Int32(i)) }
        tokenToIDTable = map
        specialIDs = Set(config.addedTokens.filter(\.special).map(\.id))
        addedLengths = Dictionary(config.addedTokens.map { ($0.id, $0.content.unicodeScalars.count) }, uniquingKeysWith: { a, _ in a })

        var raw: [([UInt32], AddedToken)] = [], norm: [([UInt32], AddedToken)] = []
        for t in config.addedTokens {
            let s = t.content.unicodeScalars.map(\.value)
            if t.normalized {
                var b = TextBuffer(original: s[...], base: 0)
                if let n = normalizer { b = n.normalize(b) }
                norm.append((b.scalars, t))
            } else {
                raw.append((s, t))
            }
        }
        rawMatcher = AddedTokenMatcher(raw.map { (pattern: $0.0, token: $0.1) })
        normalizedMatcher = AddedTokenMatcher(norm.map { (pattern: $0.0, token: $0.1) })
    }

    /// The truncation length (special tokens included). Setting it enables right/longest-first
    /// truncation (or changes the length of the file's truncation); nil disables truncation.
    public var maxLength: Int? {
        get { truncation?.maxLength }
        set {
            if let n = newValue {
                if truncation == nil { truncation = Truncation(maxLength: n) } else { truncation!.maxLength = n }
            } else { truncation = nil }
        }
    }

    /// Number of ids (model vocabulary plus added tokens).
    public var vocabularySize: Int { idToTokenTable.count }

    /// The id of a token string (vocabulary or added token).
    public func id(for token: String) -> Int? { tokenToIDTable.lookup(token).map(Int.init) }

    /// The token string of an id.
    public func token(for id: Int) -> String? {
        id >= 0 && id < idToTokenTable.count && !idToTokenTable[id].isEmpty ? idToTokenTable[id] : nil
    }

    /// Whether `id` is a special added token.
    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    // MARK: Encoding

    /// Tokenizes `text` (and an optional second text of a pair), then truncates, adds special
    /// tokens and pads (fixed-length padding only; batch padding happens in `encodeBatch`).
    public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true) -> Encoding {
        var e = encodeUnpadded(text, pair: pair, addSpecialTokens: addSpecialTokens)
        if let p = padding, case .fixed = p.strategy {
            e.pad(to: p.targetLength(longest: e.count), id: p.padID, typeID: p.padTypeID, token: p.padToken, direction: p.direction)
        }
        return e
    }

    /// Tokenizes many texts (in parallel for large batches) and pads them per `padding`
    /// (to the longest of the batch, or to the fixed length).
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true) -> [Encoding] {
        var results = [Encoding](repeating: Encoding(), count: texts.count)
        let chunk = 32
        if texts.count < 4 * chunk || ProcessInfo.processInfo.activeProcessorCount < 2 {
            for i in texts.indices { results[i] = encodeUnpadded(texts[i], pair: nil, addSpecialTokens: addSpecialTokens) }
        } else {
            // Small chunks handed out dynamically, so that a descheduled thread delays little.
            results.withUnsafeMutableBufferPointer { buffer in
                nonisolated(unsafe) let out = buffer
                DispatchQueue.concurrentPerform(iterations: (texts.count + chunk - 1) / chunk) { c in
                    for i in (c * chunk)..<min(texts.count, (c + 1) * chunk) {
                        out[i] = encodeUnpadded(texts[i], pair: nil, addSpecialTokens: addSpecialTokens)
                    }
                }
            }
        }
        if let p = padding {
            let target = p.targetLength(longest: results.map(\.count).max() ?? 0)
            for i in results.indices {
                results[i].pad(to: target, id: p.padID, typeID: p.padTypeID, token: p.padToken, direction: p.direction)
            }
        }
        return results
    }

    func encodeUnpadded(_ text: String, pair: String?, addSpecialTokens: Bool) -> Encoding {
        var first = encodeSequence(text, typeID: 0, sequence: 0)
        var second = pair.map { encodeSequence($0, typeID: 1, sequence: 1) }
        if let t = truncation {
            let added = addSpecialTokens ? (postProcessor?.addedTokens(isPair: second != nil) ?? 0) : 0
            truncateEncodings(&first, &second, maxLength: max(0, t.maxLength - added), strategy: t.strategy, direction: t.direction)
        }
        var encodings: [Encoding] = []
        encodings.reserveCapacity(2)
        encodings.append(first)
        first = Encoding()  // drop the second reference so that processing mutates in place
        if let s = second { encodings.append(s); second = nil }
        postProcessor?.process(&encodings, addSpecialTokens: addSpecialTokens)
        if encodings.count == 1 { return encodings[0] }
        var merged = Encoding(reservingCapacity: encodings.reduce(0) { $0 + $1.count })
        for e in encodings { merged.append(contentsOf: e) }
        return merged
    }

    /// Added tokens, normalization, pre-tokenization and the model for one text.
    func encodeSequence(_ text: String, typeID: Int, sequence: Int) -> Encoding {
        var scalars: [UInt32] = []
        scalars.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars { scalars.append(s.value) }
        let n = scalars.count
        var pre = PreTokenizedText(buffer: TextBuffer(), pieces: [])
        let segments = rawMatcher.isEmpty ? [(0, n, Int32(-1))] : rawMatcher.split(scalars, 0..<n)
        for (lo, hi, tok) in segments {
            if tok >= 0 {
                let text = hi - lo == addedLengths[Int(tok)] ? nil : String(scalarValues: scalars[lo..<hi].map { Unicode.Scalar($0) ?? "\u{FFFD}" })
                pre.pieces.append(Piece(lo: 0, hi: 0, token: tok, original: lo..<hi, text: text))
                continue
            }
            var seg = TextBuffer(original: scalars[lo..<hi], base: lo)
            if let normalizer { seg = normalizer.normalize(seg) }
            if segments.count == 1 && normalizedMatcher.isEmpty {
                // The common case: the whole text is one segment; use its buffer as is.
                if seg.count > 0 { pre.pieces.append(Piece(lo: 0, hi: seg.count)) }
                pre.buffer = seg
                break
            }
            let base = pre.buffer.count
            pre.buffer.append(from: seg, range: 0..<seg.count)
            if normalizedMatcher.isEmpty {
                if seg.count > 0 { pre.pieces.append(Piece(lo: base, hi: base + seg.count)) }
            } else {
                for (a, b, t) in normalizedMatcher.split(seg.scalars, 0..<seg.count) {
                    if t >= 0 { pre.pieces.append(Piece(lo: 0, hi: 0, token: t, original: seg.originalRange(a..<b), text: seg.string(a..<b))) } else if b > a { pre.pieces.append(Piece(lo: base + a, hi: base + b)) }
                }
            }
        }
        preTokenizer?.preTokenize(&pre)

        var e = Encoding(reservingCapacity: pre.pieces.count + pre.buffer.count / 3 + 4)
        var sink = TokenSink()
        sink.reserve(pre.pieces.count + pre.buffer.count / 3 + 4)
        for p in pre.pieces {
            if p.token >= 0 {
                let id = Int(p.token)
                e.append(id: id, typeID: typeID, token: p.text ?? idToTokenTable[id], offset: p.original, special: false, sequence: sequence)
                continue
            }
            let start = sink.ids.count
            model.tokenize(pre.buffer, p.lo..<p.hi, into: &sink)
            for k in start..<sink.ids.count {
                let id = Int(sink.ids[k])
                let token = (sink.overrides.isEmpty ? nil : sink.overrides[k]) ?? (id < idToTokenTable.count ? idToTokenTable[id] : "")
                e.append(id: id, typeID: typeID, token: token, offset: pre.buffer.originalRange(Int(sink.los[k])..<Int(sink.his[k])), special: false, sequence: sequence)
            }
        }
        return e
    }

    // MARK: Decoding

    /// Turns ids back into text with the file's decoder (tokens joined by spaces when it has none).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        let tokens = ids.compactMap { id -> String? in
            if skipSpecialTokens && specialIDs.contains(id) { return nil }
            return token(for: id)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }
}
