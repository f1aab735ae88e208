import Foundation
import QuiverMedia
@testable import QuiverModels
import QuiverTestSupport
import XCTest

/// EfficientNet-Lite0 (the real ImageNet checkpoint in the model home) against the PyTorch
/// reference: pooled 1280-d features with cosine >= 0.9999 per image, and the same top-5
/// ImageNet classes in the same order.
final class EfficientNetParityTests: XCTestCase {
    struct Reference: Decodable {
        let images: [String]
        let features_1280: [[Float]]
        let logits: [[Float]]
        let top5_imagenet: [[String]]
    }

    func testLite0FeaturesAndTop5MatchPyTorch() throws {
        let folder = try TestPaths.model("efficientnet-lite0")
        let ref: Reference = try TestPaths.referenceJSON("image/efficientnet-lite0.json")
        let names: [String: String] = try TestPaths.referenceJSON("image/imagenet-top5-classes.json")
        guard let model = try ImageModels.load(folder) as? EfficientNetLite else { return XCTFail("not loaded as EfficientNetLite") }
        XCTAssertEqual(model.dimension, 1280)
        XCTAssertEqual(model.blockCount, 16)
        XCTAssertEqual(model.preprocessor, .efficientNetLite0)
        let features = try model.embed(images: try ImageTesting.images(ref.images))
        ImageTesting.assertParity(features, ref.features_1280, minCosine: 0.9999, "EfficientNet-Lite0 features")
        for (i, f) in features.enumerated() {
            let logits = try XCTUnwrap(model.logits(features: f))
            XCTAssertEqual(logits.count, 1000)
            XCTAssertGreaterThanOrEqual(ImageTesting.cosine(logits, ref.logits[i]), 0.9999, "logits \(i)")
            let top5 = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5).map { names[String($0)] ?? "class \($0)" }
            XCTAssertEqual(top5, ref.top5_imagenet[i], "top-5 of \(ref.images[i])")
        }
    }
}
