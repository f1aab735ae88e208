import QuiverTensor

/// Calibration of the int8 encoders: the largest |x| each input channel of each projection reaches
/// when the float32 model runs the built-in calibration texts. `QuantizedLinear` keeps the channels
/// far above the median (the outlier channels) in float32; see its documentation.
public enum Int8Calibration {
    /// The texts the encoders are calibrated on at load time under `.int8`: short and long, plain
    /// and technical, with numbers, punctuation, code and a few other languages, so that the
    /// activation ranges cover what embedding users send (the special-token rows of very short
    /// texts carry the largest activations, so the empty text and single words are included).
    /// Written for Quiver; about 1,500 tokens, a fraction of a second in float32.
    public static let texts: [String] = [
        "",
        "x",
        "ok",
        "hello",
        "Search",
        "What is the capital of France?",
        "A man is eating food.",
        "A woman is playing the violin on a stage.",
        "The cat sits on the windowsill and watches the birds in the garden.",
        "How do I reset my password if I no longer have access to my email account?",
        "Quarterly revenue grew 12% to $4.3 billion, driven by cloud services and advertising.",
        "The patient presented with acute abdominal pain, fever of 38.9 °C and an elevated white cell count.",
        "Photosynthesis converts light energy into chemical energy stored in glucose molecules.",
        "In 1969, Apollo 11 landed on the Moon and Neil Armstrong became the first person to walk on its surface.",
        "Preheat the oven to 200 degrees, whisk the eggs with sugar, fold in the flour and bake for 25 minutes.",
        "The defendant appealed the ruling, arguing that the lower court had misinterpreted the contract's terms.",
        "func binarySearch(_ a: [Int], _ x: Int) -> Int? { var lo = 0, hi = a.count - 1; return nil }",
        "SELECT name, COUNT(*) FROM orders WHERE created_at > '2024-01-01' GROUP BY name ORDER BY 2 DESC;",
        "Error: connection refused (ECONNREFUSED) at 127.0.0.1:5432 — is the database server running?",
        "https://example.com/docs/getting-started?lang=en#installation",
        "Le chat dort sur le canapé pendant que la pluie tombe sur la ville.",
        "Der Zug nach Berlin fährt um 14:35 Uhr von Gleis 7 ab.",
        "El mercado abre todos los días a las ocho de la mañana.",
        "東京は日本の首都です。",
        "Москва — столица России.",
        "lol that movie was sooo good!!! 10/10 would watch again 😂",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
        "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
        "Tomatoes need full sun, rich soil and regular watering; pinch off the suckers to get larger fruit.",
        "The mitochondria is the powerhouse of the cell.",
        "Neural networks learn representations by adjusting weights to minimize a loss function over training data.",
        "Rain is expected in the north tomorrow, with temperatures falling to around five degrees overnight.",
        "She opened the old wooden box and found a bundle of letters tied with a faded blue ribbon.",
        "Install the package with pip, then run the command with --help to see every option.",
        "Shipping is free for orders over fifty dollars; returns are accepted within thirty days of delivery.",
        "The orchestra performed Beethoven's Ninth Symphony to a sold-out audience on New Year's Eve.",
        "Volcanic eruptions release ash and sulfur dioxide, which can cool the climate for several years.",
        """
        Vector search finds the items whose embeddings are closest to a query's embedding. An index such as \
        HNSW builds a graph over the vectors so that a search visits only a small part of the collection, \
        trading a little recall for a large gain in speed; exact search compares the query with every vector.
        """,
        """
        The committee met on Tuesday to review the budget proposal. After a long discussion about staffing, \
        maintenance of the river bridge and the new library, the members voted seven to two to approve the \
        plan, with an amendment asking for a report on energy costs before the end of the year.
        """,
    ]

    /// Where in an encoder layer a projection reads its input.
    enum Site: Int, CaseIterable {
        /// Q, K and V (one product over the layer's input).
        case qkv
        /// The attention output projection (over the attention context).
        case attentionOutput
        /// The feed-forward input projection (over the attention block's output).
        case intermediate
        /// The feed-forward output projection (over the activation).
        case output
    }
}

/// The largest |x| of each input channel of each projection of each layer, gathered during
/// float32 forward passes (`EncoderLayer.forward(..., ranges:)`): `maxAbs[layer][site][channel]`.
final class ProjectionInputRanges: @unchecked Sendable {
    private(set) var maxAbs: [[[Float]]]

    init(layers: [EncoderLayer]) {
        maxAbs = layers.map { l in
            [l.query.inFeatures, l.attentionOutput.inFeatures, l.intermediate.inFeatures, l.output.inFeatures]
                .map { [Float](repeating: 0, count: $0) }
        }
    }

    /// Takes `rows` rows of `cols` floats (rows `ld` apart) into the maxima of `site` in `layer`.
    func observe(layer: Int, site: Int8Calibration.Site, _ x: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int) {
        maxAbs[layer][site.rawValue].withUnsafeMutableBufferPointer { m in
            for r in 0..<rows {
                let row = x + r * ld
                for c in 0..<cols { m[c] = max(m[c], abs(row[c])) }
            }
        }
    }

    /// The maxima of `site` in `layer`.
    func maxima(layer: Int, site: Int8Calibration.Site) -> [Float] { maxAbs[layer][site.rawValue] }
}

extension ProjectionInputRanges {
    /// Runs `forward` (a float32 encoder pass that records into the ranges) over `sequences` and
    /// returns the ranges; nil without sequences.
    /// - Throws: `ModelsError` for an invalid id or a sequence that is too long.
    static func calibrate(layers: [EncoderLayer], sequences: [[Int]], vocabularySize: Int, maxLength: Int,
                          forward: (TokenBatch, Workspace, ProjectionInputRanges) -> Void) throws -> ProjectionInputRanges? {
        guard !sequences.isEmpty else { return nil }
        let batch = TokenBatch(sequences.map { Array($0.prefix(maxLength)) })
        try batch.validate(vocabularySize: vocabularySize, maxLength: maxLength)
        let ranges = ProjectionInputRanges(layers: layers)
        forward(batch, Workspace(), ranges)
        return ranges
    }
}
