import Foundation
import XCTest
@testable import QuiverModels
import QuiverTensor
import QuiverTokenizers
import QuiverTestSupport

/// Gates of the int8 precision (`Precision.int8`): on the committed sentence-transformers reference
/// embeddings (Tests/Fixtures/reference/text/*.json, the 60 held texts of the fp32 parity tests)
/// every int8 embedding has cosine >= 0.999 with the fp32 reference (the gate; measured
/// worst / mean: MiniLM 0.99916 / 0.99970, MPNet 0.99909 / 0.99964, the worst being the shortest
/// texts), and the mean >= 0.9995; the outlier input channels the load-time calibration keeps in
/// float32 are found and stay a small share (MiniLM 654 of 16,128, MPNet 3,328 of 64,512). On a
/// retrieval task built from WordNet (each noun synset's example sentence must find its own
/// definition among 1,500) the int8 recall@10 is within 0.5 points of fp32's.
/// Slow in debug: run with `swift test -c release -Xswiftc -enable-testing --filter Int8`.
final class Int8ParityTests: XCTestCase {
    struct Reference: Decodable {
        let texts: [String]
        let token_ids: [[Int]]
        let embeddings: [[Float]]
    }

    /// (every text, mean) cosine gates per model: the 0.999 for every text.
    static let floors: [String: (worst: Double, mean: Double)] = [
        "all-MiniLM-L6-v2": (0.999, 0.9995), "all-mpnet-base-v2": (0.999, 0.9995),
    ]
    static let maximumRecallLoss: Double = 0.005

    func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in 0..<a.count { ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i]) }
        return ab / max((aa * bb).squareRoot(), 1e-30)
    }

    func checkCosine(_ name: String) throws {
        let folder = try TestPaths.model(name)
        let ref: Reference = try TestPaths.referenceJSON("text/\(name).json")
        let model = try SentenceTransformer(folder: folder, precision: .int8)
        XCTAssertEqual(model.precision, .int8)
        let vectors = try model.embed(tokenIDs: ref.token_ids)
        var worst = 1.0, sum = 0.0
        let floor = try XCTUnwrap(Self.floors[name])
        for (i, (v, r)) in zip(vectors, ref.embeddings).enumerated() {
            let c = cosine(v, r)
            worst = min(worst, c); sum += c
            XCTAssertGreaterThanOrEqual(c, floor.worst, "\(name) int8 text \(i) \(ref.texts[i].prefix(40).debugDescription): cosine \(c)")
        }
        XCTAssertGreaterThanOrEqual(sum / Double(vectors.count), floor.mean, "\(name) int8 mean cosine")
        let layers = (model.encoder as? BertModel)?.layers ?? (model.encoder as? MPNetModel)?.layers ?? []
        let projections = layers.compactMap(\.int8).flatMap { [$0.qkv, $0.attentionOutput, $0.intermediate, $0.output].compactMap { $0 } }
        let kept = projections.reduce(0) { $0 + $1.outlierChannels.count }, channels = projections.reduce(0) { $0 + $1.inFeatures }
        XCTAssertGreaterThan(kept, 0, "\(name): the calibration finds outlier channels")
        XCTAssertLessThan(Double(kept), 0.1 * Double(channels), "\(name): most channels stay int8")
        print("\(name) int8 (\(Int8Kernels.formName())): \(vectors.count) texts, worst cosine \(worst), mean \(sum / Double(vectors.count)); "
              + "\(kept) of \(channels) input channels in float32")
    }

    func testInt8AllMiniLML6v2CosineToReference() throws { try checkCosine("all-MiniLM-L6-v2") }

    func testInt8AllMpnetBaseV2CosineToReference() throws { try checkCosine("all-mpnet-base-v2") }

    /// (definition, example) pairs of the first `count` noun synsets of WordNet that carry a quoted example.
    func wordNetPairs(_ count: Int) throws -> [(String, String)] {
        let path = "/usr/share/wordnet/data.noun"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            let message = "\(path) not found; run scripts/install-system-deps.sh (package wordnet-base)"
            if TestPaths.modelsRequired { XCTFail(message) }
            throw XCTSkip(message)
        }
        var pairs: [(String, String)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("  ") {
            guard let bar = line.range(of: " | ") else { continue }
            let gloss = line[bar.upperBound...]
            let parts = gloss.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let definition = parts.first, !definition.hasPrefix("\""),
                  let example = parts.dropFirst().first(where: { $0.hasPrefix("\"") && $0.count > 12 }) else { continue }
            let word = line.split(separator: " ")[4].replacingOccurrences(of: "_", with: " ")
            pairs.append(("\(word): \(definition)", example.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))))
            if pairs.count == count { break }
        }
        return pairs
    }

    func testInt8WordNetRecallAt10WithinHalfAPointOfFloat32() throws {
        let folder = try TestPaths.model("all-MiniLM-L6-v2")
        let pairs = try wordNetPairs(1500)
        XCTAssertEqual(pairs.count, 1500)
        var tokenizer = try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        tokenizer.padding = nil
        let fp32 = try SentenceTransformer(folder: folder)
        let int8 = try SentenceTransformer(folder: folder, precision: .int8)
        tokenizer.truncation = Truncation(maxLength: fp32.maxSequenceLength)
        let base = tokenizer.encodeBatch(pairs.map(\.0)).map(\.ids)
        let queries = tokenizer.encodeBatch(pairs.map(\.1)).map(\.ids)

        /// Recall@10 (own definition in the top 10 by cosine) and each query's top-10 list.
        func evaluate(_ model: SentenceTransformer) throws -> (recall: Double, top: [[Int]]) {
            let b = try model.embedFlat(tokenIDs: base), q = try model.embedFlat(tokenIDs: queries)
            let d = model.dimension, n = pairs.count
            var hits = 0, tops: [[Int]] = []
            for i in 0..<n {
                var scores = [Float](repeating: 0, count: n)
                for j in 0..<n {
                    var s: Float = 0
                    for c in 0..<d { s += q[i * d + c] * b[j * d + c] }
                    scores[j] = s
                }
                let top = Array((0..<n).sorted { scores[$0] > scores[$1] }.prefix(10))
                if top.contains(i) { hits += 1 }
                tops.append(top)
            }
            return (Double(hits) / Double(n), tops)
        }
        let f = try evaluate(fp32), q = try evaluate(int8)
        var overlap = 0
        for (a, b) in zip(f.top, q.top) { overlap += Set(a).intersection(b).count }
        let agreement = Double(overlap) / Double(10 * pairs.count)
        print("WordNet \(pairs.count) example->definition: recall@10 fp32 \(f.recall), int8 \(q.recall); int8 top-10 agreement with fp32 \(agreement)")
        XCTAssertGreaterThan(f.recall, 0.5, "the task must be meaningful for fp32")
        XCTAssertGreaterThanOrEqual(q.recall, f.recall - Self.maximumRecallLoss, "int8 recall@10 \(q.recall) vs fp32 \(f.recall)")
        // The int8 neighbours are mostly the fp32 ones (measured 0.9+; a broken kernel gives ~0).
        XCTAssertGreaterThanOrEqual(agreement, 0.9, "int8 top-10 agreement with fp32")
    }
}
