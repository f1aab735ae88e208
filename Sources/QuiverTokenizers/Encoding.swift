/// The result of tokenizing one text (or pair): parallel arrays, one entry per token.
public struct Encoding: Sendable, Equatable {
    /// Vocabulary ids.
    public var ids: [Int]
    /// Segment (token type) ids: 0 for the first sequence, 1 for the second of a pair (per post-processor).
    public var typeIDs: [Int]
    /// Token strings as in the vocabulary (byte-level tokens show their printable stand-ins, e.g. `Ġ`).
    public var tokens: [String]
    /// Character offsets into the original text, in Unicode scalars (Python `str` indices);
    /// special tokens have `0..<0`. For a pair, offsets of the second sequence index the second text.
    public var offsets: [Range<Int>]
    /// 1 for special tokens added by the post-processor or padding, else 0.
    public var specialTokensMask: [Int]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int]
    /// Which input sequence each token comes from (0, 1, or nil for special and padding tokens).
    public var sequenceIDs: [Int?]

    /// An empty encoding.
    public init() {
        ids = []; typeIDs = []; tokens = []; offsets = []; specialTokensMask = []; attentionMask = []; sequenceIDs = []
    }

    init(reservingCapacity n: Int) {
        self.init()
        ids.reserveCapacity(n); typeIDs.reserveCapacity(n); tokens.reserveCapacity(n); offsets.reserveCapacity(n)
        specialTokensMask.reserveCapacity(n); attentionMask.reserveCapacity(n); sequenceIDs.reserveCapacity(n)
    }

    /// Adds special tokens before/after in place and sets every type id and sequence id.
    mutating func wrap(before: (String, Int)?, after: (String, Int)?, typeID: Int, sequence: Int) {
        for i in typeIDs.indices { typeIDs[i] = typeID }
        for i in sequenceIDs.indices { sequenceIDs[i] = sequence }
        if let (t, id) = before {
            ids.insert(id, at: 0); typeIDs.insert(typeID, at: 0); tokens.insert(t, at: 0); offsets.insert(0..<0, at: 0)
            specialTokensMask.insert(1, at: 0); attentionMask.insert(1, at: 0); sequenceIDs.insert(nil, at: 0)
        }
        if let (t, id) = after { append(id: id, typeID: typeID, token: t, offset: 0..<0, special: true, sequence: nil) }
    }

    /// Number of tokens (including special tokens and padding).
    public var count: Int { ids.count }

    mutating func append(id: Int, typeID: Int, token: String, offset: Range<Int>, special: Bool, sequence: Int?) {
        ids.append(id); typeIDs.append(typeID); tokens.append(token); offsets.append(offset)
        specialTokensMask.append(special ? 1 : 0); attentionMask.append(1); sequenceIDs.append(sequence)
    }

    mutating func append(contentsOf other: Encoding) {
        ids += other.ids; typeIDs += other.typeIDs; tokens += other.tokens; offsets += other.offsets
        specialTokensMask += other.specialTokensMask; attentionMask += other.attentionMask; sequenceIDs += other.sequenceIDs
    }

    mutating func setTypeIDs(_ t: Int) { for i in typeIDs.indices { typeIDs[i] = t } }

    mutating func keep(_ r: Range<Int>) {
        ids = Array(ids[r]); typeIDs = Array(typeIDs[r]); tokens = Array(tokens[r]); offsets = Array(offsets[r])
        specialTokensMask = Array(specialTokensMask[r]); attentionMask = Array(attentionMask[r]); sequenceIDs = Array(sequenceIDs[r])
    }

    /// Keeps `n` tokens, dropping from the end (right) or the start (left).
    mutating func truncate(to n: Int, direction: Direction) {
        guard n < count else { return }
        keep(direction == .right ? 0..<n : (count - n)..<count)
    }

    /// Pads to `length` with the given pad token.
    mutating func pad(to length: Int, id: Int, typeID: Int, token: String, direction: Direction) {
        let n = length - count
        guard n > 0 else { return }
        func padded<T>(_ a: [T], _ v: T) -> [T] {
            direction == .right ? a + [T](repeating: v, count: n) : [T](repeating: v, count: n) + a
        }
        ids = padded(ids, id); typeIDs = padded(typeIDs, typeID); tokens = padded(tokens, token)
        offsets = padded(offsets, 0..<0); specialTokensMask = padded(specialTokensMask, 1)
        attentionMask = padded(attentionMask, 0); sequenceIDs = padded(sequenceIDs, nil)
    }
}

/// Left or right (which end truncation removes from / padding adds to): `left` (`"Left"` in
/// tokenizer.json) works at the start of the sequence, `right` (`"Right"`) at its end.
public enum Direction: String, Sendable, Decodable {
    case left = "Left", right = "Right"
}

/// How a pair is shortened to fit.
public enum TruncationStrategy: String, Sendable, Decodable {
    /// Remove from the longer sequence first, then alternately.
    case longestFirst = "LongestFirst"
    /// Remove only from the first sequence.
    case onlyFirst = "OnlyFirst"
    /// Remove only from the second sequence.
    case onlySecond = "OnlySecond"
}

/// Truncation settings (`truncation` in tokenizer.json). `maxLength` counts the special tokens.
public struct Truncation: Sendable, Decodable, Equatable {
    /// Maximum number of tokens, special tokens included.
    public var maxLength: Int
    /// How a pair is shortened.
    public var strategy: TruncationStrategy
    /// Which end loses tokens.
    public var direction: Direction
    /// Read for completeness; overflowing windows are not produced.
    public var stride: Int

    enum CodingKeys: String, CodingKey {
        case maxLength = "max_length", strategy, direction, stride
    }

    /// Truncation settings (defaults as in HF: longest first, from the right).
    public init(maxLength: Int, strategy: TruncationStrategy = .longestFirst, direction: Direction = .right, stride: Int = 0) {
        self.maxLength = maxLength; self.strategy = strategy; self.direction = direction; self.stride = stride
    }

    /// Decodes a `truncation` object: `max_length` is required; `strategy`, `direction` and `stride` default to
    /// `LongestFirst`, `Right` and 0.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxLength = try c.decode(Int.self, forKey: .maxLength)
        strategy = try c.decodeIfPresent(TruncationStrategy.self, forKey: .strategy) ?? .longestFirst
        direction = try c.decodeIfPresent(Direction.self, forKey: .direction) ?? .right
        stride = try c.decodeIfPresent(Int.self, forKey: .stride) ?? 0
    }
}

/// Padding settings (`padding` in tokenizer.json).
public struct Padding: Sendable, Decodable, Equatable {
    /// Pad a batch to its longest encoding, or every encoding to a fixed length.
    public enum Strategy: Sendable, Equatable {
        /// Pad every encoding of a batch to the longest one's length.
        case batchLongest
        /// Pad every encoding to this many tokens (longer ones are left as they are).
        case fixed(Int)
    }
    /// Batch-longest or fixed length.
    public var strategy: Strategy
    /// Which end receives the padding.
    public var direction: Direction
    /// Round the padded length up to a multiple of this.
    public var padToMultipleOf: Int?
    /// Id, type id and token string of the padding token.
    public var padID: Int
    /// Segment (token type) id given to padding tokens.
    public var padTypeID: Int
    /// Token string given to padding positions in ``Encoding/tokens``.
    public var padToken: String

    enum CodingKeys: String, CodingKey {
        case strategy, direction
        case padToMultipleOf = "pad_to_multiple_of", padID = "pad_id", padTypeID = "pad_type_id", padToken = "pad_token"
    }
    enum StrategyKeys: String, CodingKey { case fixed = "Fixed" }

    /// Padding settings (defaults: to the longest of the batch, on the right, id 0 `[PAD]`).
    public init(strategy: Strategy = .batchLongest, direction: Direction = .right, padToMultipleOf: Int? = nil,
                padID: Int = 0, padTypeID: Int = 0, padToken: String = "[PAD]") {
        self.strategy = strategy; self.direction = direction; self.padToMultipleOf = padToMultipleOf
        self.padID = padID; self.padTypeID = padTypeID; self.padToken = padToken
    }

    /// Decodes a `padding` object: `strategy` is `"BatchLongest"` or `{"Fixed": n}` (anything else reads as batch-longest);
    /// missing fields take the defaults of ``init(strategy:direction:padToMultipleOf:padID:padTypeID:padToken:)``.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let s = try? c.decode(String.self, forKey: .strategy), s == "BatchLongest" {
            strategy = .batchLongest
        } else if let f = try? c.nestedContainer(keyedBy: StrategyKeys.self, forKey: .strategy) {
            strategy = .fixed(try f.decode(Int.self, forKey: .fixed))
        } else {
            strategy = .batchLongest
        }
        direction = try c.decodeIfPresent(Direction.self, forKey: .direction) ?? .right
        padToMultipleOf = try c.decodeIfPresent(Int.self, forKey: .padToMultipleOf)
        padID = try c.decodeIfPresent(Int.self, forKey: .padID) ?? 0
        padTypeID = try c.decodeIfPresent(Int.self, forKey: .padTypeID) ?? 0
        padToken = try c.decodeIfPresent(String.self, forKey: .padToken) ?? "[PAD]"
    }

    /// The length to pad to, given the longest encoding of the batch.
    func targetLength(longest: Int) -> Int {
        var n: Int
        switch strategy {
        case .batchLongest: n = longest
        case .fixed(let f): n = f
        }
        if let m = padToMultipleOf, m > 0, n % m != 0 { n += m - n % m }
        return n
    }
}

/// Truncates a single encoding or a pair to `maxLength` tokens in total (HF `truncate_encodings`).
func truncateEncodings(_ a: inout Encoding, _ b: inout Encoding?, maxLength: Int, strategy: TruncationStrategy, direction: Direction) {
    let total = a.count + (b?.count ?? 0)
    guard total > maxLength else { return }
    let toRemove = total - maxLength
    guard var second = b else {
        a.truncate(to: max(0, a.count - toRemove), direction: direction)
        return
    }
    switch strategy {
    case .longestFirst:
        // The shorter sequence keeps up to half of the room, the longer one the rest.
        let n1: Int, n2: Int
        if a.count <= second.count { n1 = min(a.count, maxLength / 2); n2 = maxLength - n1 } else { n2 = min(second.count, maxLength / 2); n1 = maxLength - n2 }
        a.truncate(to: max(0, n1), direction: direction)
        second.truncate(to: max(0, n2), direction: direction)
    case .onlyFirst:
        a.truncate(to: max(0, a.count - toRemove), direction: direction)
    case .onlySecond:
        second.truncate(to: max(0, second.count - toRemove), direction: direction)
    }
    b = second
}
