import Foundation
import QuiverMedia
@testable import QuiverModels
import QuiverTestSupport
import QuiverTokenizers
import XCTest

/// The tiny random CLIP against transformers: token ids identical (CLIP BPE from the folder's
/// tokenizer.json and from the original merges file), text and image embeddings (projected,
/// unnormalized) with cosine >= 0.9999, exp(logit_scale) to 1e-6.
final class CLIPParityTests: XCTestCase {
    struct Reference: Decodable {
        let texts: [String]
        let token_ids: [[Int]]
        let text_embeds_unnormalized: [[Float]]
        let images: [String]
        let image_embeds_unnormalized: [[Float]]
        let logit_scale: Float
    }

    func testTinyCLIPMatchesTransformers() throws {
        let folder = TestPaths.reference.appendingPathComponent("models/tiny-random-clip")
        let ref: Reference = try TestPaths.referenceJSON("models/tiny-random-clip/reference.json")
        let model = try CLIPModel(folder: folder)
        // The reference stores the multiplier exp(logit_scale).
        XCTAssertEqual(Foundation.exp(model.logitScale), ref.logit_scale, accuracy: 1e-6)
        let tokenizer = try XCTUnwrap(model.tokenizer)
        XCTAssertEqual(ref.texts.map { tokenizer.encode($0).ids }, ref.token_ids)
        let text = try model.embed(texts: ref.texts)
        ImageTesting.assertParity(text, ref.text_embeds_unnormalized, minCosine: 0.9999, "CLIP text")
        // Padding after the end token does not change the pooled embedding (causal mask).
        let padded = try model.embed(tokenIDs: [ref.token_ids[0] + [49407, 49407, 49407]])
        XCTAssertLessThanOrEqual(ImageTesting.maxAbsDifference(padded[0], text[0]), 1e-6)
        // All texts packed in one pass and each text alone agree.
        let packed = try model.embed(tokenIDs: ref.token_ids, threads: 1)
        for (i, ids) in ref.token_ids.enumerated() {
            XCTAssertLessThanOrEqual(ImageTesting.maxAbsDifference(packed[i], try model.embed(tokenIDs: [ids], threads: 1)[0]), 1e-5, "text \(i)")
        }
        let decoded = try ImageTesting.images(ref.images)
        let images = try model.embed(images: decoded)
        ImageTesting.assertParity(images, ref.image_embeds_unnormalized, minCosine: 0.9999, "CLIP image")
        // All four images in one pass of the tower (shared GEMMs) and one image at a time agree.
        let together = try model.embed(images: decoded, threads: 1)
        let alone = try decoded.map { try model.embed(images: [$0], threads: 1)[0] }
        for i in 0..<decoded.count { XCTAssertLessThanOrEqual(ImageTesting.maxAbsDifference(together[i], alone[i]), 1e-5, "image \(i)") }
    }

    func testCLIPTokenizerFromMergesFileGivesTheSameIDs() throws {
        let merges = try TestPaths.model("clip-bpe").appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
        let ref: Reference = try TestPaths.referenceJSON("models/tiny-random-clip/reference.json")
        let tokenizer = try CLIPTokenizer.load(mergesFile: merges)
        XCTAssertEqual(ref.texts.map { tokenizer.encode($0).ids }, ref.token_ids)
    }
}
