import XCTest
@testable import Quiver
import QuiverTestSupport

/// `quiver similarity`: CLIP logits and probabilities against the transformers reference embeddings.
final class SimilarityTests: XCTestCase {
    private struct Ref: Decodable {
        let texts: [String]; let images: [String]
        let text_embeds_unnormalized: [[Float]]; let image_embeds_unnormalized: [[Float]]; let logit_scale: Float
    }
    private let folder = TestPaths.reference.appendingPathComponent("models/tiny-random-clip")

    /// Logits = (reference multiplier exp(logit_scale)) × cosine of the reference embeddings (computed here in Double),
    /// within 2e-3; probabilities within 1e-4 and summing to 1 per text.
    func testTinyCLIPMatchesReference() throws {
        let ref: Ref = try TestPaths.referenceJSON("models/tiny-random-clip/reference.json")
        let clip = try CLIPEmbedder(model: folder.path, home: ModelHome(root: TestPaths.modelHome))
        // reference.json stores the multiplier exp(logit_scale); the model keeps logit_scale as stored.
        XCTAssertEqual(Foundation.exp(clip.logitScale), ref.logit_scale, accuracy: 1e-6)
        let texts = Array(ref.texts.prefix(3))
        let urls = try CLIPEmbedder.imageFiles(ref.images.map { TestPaths.reference.appendingPathComponent($0).path })
        let got = try clip.similarity(texts: texts, imageFiles: urls)
        func cosine(_ a: [Float], _ b: [Float]) -> Double {
            let d = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            return d / (a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() * b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        }
        let scale = Double(ref.logit_scale)
        for t in texts.indices {
            let logits = ref.image_embeds_unnormalized.map { scale * cosine(ref.text_embeds_unnormalized[t], $0) }
            let m = logits.max()!
            let e = logits.map { exp($0 - m) }
            let probs = e.map { $0 / e.reduce(0, +) }
            for i in urls.indices {
                XCTAssertEqual(Double(got.logits[t][i]), logits[i], accuracy: 2e-3, "text \(t) image \(i)")
                XCTAssertEqual(Double(got.probabilities[t][i]), probs[i], accuracy: 1e-4, "text \(t) image \(i)")
            }
            XCTAssertEqual(Double(got.probabilities[t].reduce(0, +)), 1, accuracy: 1e-5)
        }
    }

    func testNonCLIPModelIsRefused() throws {
        _ = try TestPaths.model("efficientnet-lite0")
        XCTAssertThrowsError(try CLIPEmbedder(model: "efficientnet-lite0", home: ModelHome(root: TestPaths.modelHome))) { e in
            XCTAssertEqual("\(e)", "model efficientnet-lite0 does not embed image+text (a CLIP model is needed) (it embeds: image)")
        }
    }

    func testNonImageFileIsRefused() throws {
        let wav = TestPaths.reference.appendingPathComponent("media/speech_0.wav").path
        XCTAssertThrowsError(try CLIPEmbedder.imageFiles([wav])) { e in
            XCTAssertEqual(e as? QuiverError, .unreadableInput(path: wav, reason: "not an image (detected: audio); similarity scores images"))
        }
    }

    /// Softmax of known logits (ties give equal shares; a large gap gives ~1).
    func testComputeOnKnownVectors() {
        let s = CLIPSimilarity.compute(texts: [[1, 0]], images: [[2, 0], [0, 3], [-1, 0]], logitScale: Float(log(10.0)))
        XCTAssertEqual(s.cosines[0], [1, 0, -1])
        XCTAssertEqual(s.logits[0][0], 10, accuracy: 1e-5)
        XCTAssertEqual(s.logits[0][2], -10, accuracy: 1e-5)
        let e = [exp(10.0), 1, exp(-10.0)], z = e.reduce(0, +)
        for i in 0..<3 { XCTAssertEqual(Double(s.probabilities[0][i]), e[i] / z, accuracy: 1e-6) }
    }
}
