import Foundation

/// Sentence-transformers pooling (`1_Pooling/config.json`): turns the token states of one sequence
/// into one vector. Several modes may be enabled; their results are concatenated in
/// sentence-transformers' order: cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken.
public struct Pooling: Sendable, Equatable {
    /// One pooling mode.
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// The first token's state ([CLS] / <s>).
        case cls
        /// Element-wise maximum over tokens.
        case max
        /// Mean over tokens.
        case mean
        /// Sum over tokens divided by sqrt(token count).
        case meanSqrtLength
        /// Mean weighted by position (1, 2, ..., n).
        case weightedMean
        /// The last token's state.
        case lastToken
    }

    /// Enabled modes, in output order.
    public let modes: [Mode]
    /// Width of the token states (`word_embedding_dimension`).
    public let dimension: Int

    /// A pooling of token states `dimension` wide with the given modes.
    /// - Parameters:
    ///   - modes: the modes to enable; they are put in sentence-transformers' output order and duplicates are dropped.
    ///   - dimension: width of one token state (the encoder's hidden size).
    public init(modes: [Mode], dimension: Int) {
        self.modes = Mode.allCases.filter(modes.contains)
        self.dimension = dimension
    }

    /// Width of the pooled vector (`dimension * modes.count`).
    public var outputDimension: Int { dimension * modes.count }

    private struct File: Decodable {
        var word_embedding_dimension: Int?
        var pooling_mode_cls_token: Bool?
        var pooling_mode_mean_tokens: Bool?
        var pooling_mode_max_tokens: Bool?
        var pooling_mode_mean_sqrt_len_tokens: Bool?
        var pooling_mode_weightedmean_tokens: Bool?
        var pooling_mode_lasttoken: Bool?
        var pooling_mode: String?
    }

    /// Reads a `1_Pooling/config.json`. `dimension` is the encoder's hidden size, checked against
    /// `word_embedding_dimension` when present.
    /// - Throws: `ModelsError` naming the file when it is unreadable, enables no mode or disagrees
    ///   with the encoder's width.
    public static func load(_ url: URL, dimension: Int) throws -> Pooling {
        let f = try decodeJSONFile(File.self, at: url)
        if let d = f.word_embedding_dimension, d != dimension {
            throw ModelsError.invalidConfig(path: url.path, reason: "word_embedding_dimension is \(d), the encoder's hidden size is \(dimension)")
        }
        var modes: [Mode] = []
        if f.pooling_mode_cls_token == true { modes.append(.cls) }
        if f.pooling_mode_max_tokens == true { modes.append(.max) }
        if f.pooling_mode_mean_tokens == true { modes.append(.mean) }
        if f.pooling_mode_mean_sqrt_len_tokens == true { modes.append(.meanSqrtLength) }
        if f.pooling_mode_weightedmean_tokens == true { modes.append(.weightedMean) }
        if f.pooling_mode_lasttoken == true { modes.append(.lastToken) }
        if modes.isEmpty, let name = f.pooling_mode {
            let byName: [String: Mode] = ["cls": .cls, "max": .max, "mean": .mean, "mean_sqrt_len_tokens": .meanSqrtLength,
                                          "weightedmean": .weightedMean, "lasttoken": .lastToken]
            guard let m = byName[name] else { throw ModelsError.unsupported(path: url.path, feature: "pooling_mode '\(name)'") }
            modes = [m]
        }
        guard !modes.isEmpty else { throw ModelsError.invalidConfig(path: url.path, reason: "no pooling mode is enabled") }
        return Pooling(modes: modes, dimension: dimension)
    }

    /// Pools `length` token states (`[length, dimension]`, row-major) into `out`
    /// (`outputDimension` floats). An empty sequence pools to zeros (as sentence-transformers'
    /// clamped mean does).
    public func pool(_ states: UnsafePointer<Float>, length: Int, into out: UnsafeMutablePointer<Float>) {
        let d = dimension
        for (k, mode) in modes.enumerated() {
            let o = out + k * d
            guard length > 0 else { o.update(repeating: 0, count: d); continue }
            switch mode {
            case .cls:
                o.update(from: states, count: d)
            case .lastToken:
                o.update(from: states + (length - 1) * d, count: d)
            case .max:
                o.update(from: states, count: d)
                for t in 1..<max(length, 1) { let r = states + t * d; for c in 0..<d where r[c] > o[c] { o[c] = r[c] } }
            case .mean, .meanSqrtLength, .weightedMean:
                o.update(repeating: 0, count: d)
                var weightSum: Float = 0
                for t in 0..<length {
                    let r = states + t * d
                    let w: Float = mode == .weightedMean ? Float(t + 1) : 1
                    weightSum += w
                    for c in 0..<d { o[c] += w * r[c] }
                }
                let divisor = mode == .meanSqrtLength ? Float(length).squareRoot() : weightSum
                let inv = 1 / divisor
                for c in 0..<d { o[c] *= inv }
            }
        }
    }

    /// Scales `v` (`count` floats) to unit L2 norm (sentence-transformers' Normalize: the norm is
    /// clamped at 1e-12, so a zero vector stays zero).
    public static func normalize(_ v: UnsafeMutablePointer<Float>, count: Int) {
        var s: Double = 0
        for i in 0..<count { s += Double(v[i]) * Double(v[i]) }
        let inv = Float(1 / Swift.max(s.squareRoot(), 1e-12))
        for i in 0..<count { v[i] *= inv }
    }
}
