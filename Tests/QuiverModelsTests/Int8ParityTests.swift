import Foundation
import XCTest
import QuiverModels
import QuiverTensor
import QuiverTokenizers
import QuiverTestSupport

/// Gates of the int8 precision (`Precision.int8`): on the committed sentence-transformers reference
/// embeddings (Tests/Fixtures/reference/text/*.json, the held texts of the fp32 parity tests) the
/// int8 embeddings' cosine with the fp32 reference, worst text and mean, stays at what this
/// implementation measured (MiniLM worst 0.9935 / mean 0.9985, MPNet worst 0.9867 / mean 0.9975;
/// the goal of >= 0.999 for every text is NOT met yet: the worst texts are the very short
/// ones, "", "x", "aaaa…"); on a retrieval task built from
/// WordNet (each noun synset's example sentence must find its own definition among 1,000) the
/// int8 recall@10 is within 0.5 points of fp32's.
/// Slow in debug: run with `swift test -c release -Xswiftc -enable-testing --filter Int8`.
final class Int8ParityTests: XCTestCase {
    struct Reference: Decodable {
        let texts: [String]
        let token_ids: [[Int]]
        let embeddings: [[Float]]
    }

    /// (worst text, mean) cosine floors per model, a little under the measured values.
    static let floors: [String: (worst: Double, mean: Double)] = [
        "all-MiniLM-L6-v2": (0.993, 0.998), "all-mpnet-base-v2": (0.985, 0.997),
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
        print("\(name) int8 (\(Int8Kernels.formName())): \(vectors.count) texts, worst cosine \(worst), mean \(sum / Double(vectors.count))")
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
