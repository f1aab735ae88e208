import Foundation
import QuiverMedia
@testable import QuiverModels
import QuiverTestSupport
import QuiverWeights
import XCTest

/// ResNet features against the Python references of the tiny random checkpoints (Hugging Face
/// `ResNetModel` pooler output and torchvision penultimate layer), from the image files through
/// QuiverMedia. Tolerance: cosine >= 0.9999 per image (the README's bound for image pipelines).
final class ResNetParityTests: XCTestCase {
    struct Reference: Decodable { let images: [String]; let pooled: [[Float]] }

    func testHuggingFaceResNetMatchesTransformers() throws {
        let folder = TestPaths.reference.appendingPathComponent("models/tiny-random-resnet-hf")
        let ref: Reference = try TestPaths.referenceJSON("models/tiny-random-resnet-hf/reference.json")
        let model = try ResNet(folder: folder)
        XCTAssertEqual(model.depths, [1, 2, 1, 1])
        XCTAssertTrue(model.isBottleneck)
        let got = try model.embed(images: try ImageTesting.images(ref.images))
        ImageTesting.assertParity(got, ref.pooled, minCosine: 0.9999, "HF ResNet image")
    }

    func testTorchvisionResNetMatchesTorchvision() throws {
        let file = TestPaths.reference.appendingPathComponent("models/tiny-random-resnet-torchvision/resnet_bottleneck_1111.pth")
        let ref: Reference = try TestPaths.referenceJSON("models/tiny-random-resnet-torchvision/reference.json")
        let model = try ResNet(torchvisionWeights: try WeightFiles.open(path: file.path))
        XCTAssertEqual(model.depths, [1, 1, 1, 1])
        XCTAssertEqual(model.dimension, 2048)
        let images = try ImageTesting.images(ref.images)
        let got = try model.embed(images: images)
        ImageTesting.assertParity(got, ref.pooled, minCosine: 0.9999, "torchvision ResNet image")
        // One worker per image and all threads inside one image give the same features.
        let single = try model.embed(images: [images[0]], threads: 2)
        XCTAssertLessThanOrEqual(ImageTesting.maxAbsDifference(single[0], got[0]), 1e-4)
    }
}
