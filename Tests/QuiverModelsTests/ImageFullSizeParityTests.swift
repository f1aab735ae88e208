import Foundation
@testable import QuiverModels
import QuiverTensor
import QuiverTestSupport
import QuiverWeights
import XCTest

/// Full-size architectures (ResNet-50 and ResNet-18 in both layouts, CLIP ViT-B/32 and ViT-L/14) against
/// PyTorch without shipping their weights: scripts/fixtures/image_fullsize_reference.py set every
/// tensor to `offset + scale * (u / 32768 - 1)`, `u = (i*i*7 + i*40503 + seed) mod 65536`, ran a
/// fixed input, and saved the tensor specs with the outputs. These tests rebuild the same
/// weights in memory and require cosine >= 0.9999 for every output.
final class ImageFullSizeParityTests: XCTestCase {
    struct Spec: Decodable { let name: String; let shape: [Int]; let seed: Int; let offset: Float; let scale: Float }

    /// The formula weights as a checkpoint (values computed when a tensor is taken).
    struct FormulaWeights: WeightSource {
        let path: String
        let specs: [String: Spec]
        init(_ specs: [Spec], path: String) {
            self.path = path
            self.specs = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
        }
        var infos: [WeightInfo] { specs.values.map { WeightInfo(name: $0.name, shape: $0.shape, dtype: .float32) }.sorted { $0.name < $1.name } }
        func info(_ name: String) -> WeightInfo? { specs[name].map { WeightInfo(name: $0.name, shape: $0.shape, dtype: .float32) } }
        func tensor(_ name: String) throws -> WeightTensor {
            guard let s = specs[name] else { throw WeightsError.missingTensor(path: path, tensor: name, similar: []) }
            let n = s.shape.reduce(1, *)
            let storage = FloatStorage(count: n) { out in
                for i in 0..<n {
                    let u = (i * i * 7 + i * 40503 + s.seed) % 65536
                    out[i] = s.offset + s.scale * (Float(u) / 32768 - 1)
                }
            }
            return WeightTensor(name: name, shape: s.shape, sourceDType: .float32, storage: storage)
        }
    }

    /// The fixed input: pixel i of the CHW image is 0.8 sin(0.013 i + 0.3).
    static func input(size: Int) -> [Float] {
        (0..<(3 * size * size)).map { Float(0.8 * Foundation.sin(0.013 * Double($0) + 0.3)) }
    }

    struct ResNetReference: Decodable { let tensors: [Spec]; let image_size: Int; let features: [Float]; let config: ResNetConfig? }
    struct CLIPReference: Decodable {
        let tensors: [Spec]; let image_size: Int; let config: CLIPConfig
        let image_embedding: [Float]; let text_ids: [[Int]]; let text_embeddings: [[Float]]
    }

    func features(_ model: ResNet, size: Int) -> [Float] {
        var out = [Float](repeating: 0, count: model.dimension)
        let x = Self.input(size: size)
        let ws = Workspace()
        x.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { model.network.forward(chw: px.baseAddress!, height: size, width: size, features: $0.baseAddress!, workspace: ws, threads: 2) }
        }
        return out
    }

    func testResNet50TorchvisionLayout() throws {
        let ref: ResNetReference = try TestPaths.referenceJSON("image/fullsize/resnet50-torchvision.json")
        let model = try ResNet(torchvisionWeights: FormulaWeights(ref.tensors, path: "resnet50-torchvision"))
        XCTAssertEqual(model.depths, [3, 4, 6, 3])
        XCTAssertEqual(model.name, "resnet50 (torchvision)")
        ImageTesting.assertParity([features(model, size: ref.image_size)], [ref.features], minCosine: 0.9999, "ResNet-50 torchvision")
    }

    func testResNet50HuggingFaceLayout() throws {
        let ref: ResNetReference = try TestPaths.referenceJSON("image/fullsize/resnet50-hf.json")
        let config = try XCTUnwrap(ref.config)
        XCTAssertEqual(config, ResNetConfig())
        let model = try ResNet(config: config, weights: FormulaWeights(ref.tensors, path: "resnet50-hf"))
        XCTAssertEqual(model.name, "resnet50 (Hugging Face)")
        ImageTesting.assertParity([features(model, size: ref.image_size)], [ref.features], minCosine: 0.9999, "ResNet-50 HF")
    }

    /// Basic blocks (ResNet-18) in both layouts, on a 160x160 input (any size works for a CNN).
    func testResNet18BasicBlocksBothLayouts() throws {
        let tv: ResNetReference = try TestPaths.referenceJSON("image/fullsize/resnet18-torchvision-160.json")
        let a = try ResNet(torchvisionWeights: FormulaWeights(tv.tensors, path: "resnet18-torchvision"))
        XCTAssertFalse(a.isBottleneck)
        XCTAssertEqual(a.name, "resnet18 (torchvision)")
        XCTAssertEqual(a.dimension, 512)
        ImageTesting.assertParity([features(a, size: tv.image_size)], [tv.features], minCosine: 0.9999, "ResNet-18 torchvision")
        let hf: ResNetReference = try TestPaths.referenceJSON("image/fullsize/resnet18-hf-160.json")
        let b = try ResNet(config: try XCTUnwrap(hf.config), weights: FormulaWeights(hf.tensors, path: "resnet18-hf"))
        XCTAssertEqual(b.name, "resnet18 (Hugging Face)")
        ImageTesting.assertParity([features(b, size: hf.image_size)], [hf.features], minCosine: 0.9999, "ResNet-18 HF")
    }

    func checkCLIP(_ file: String, expected: CLIPConfig) throws {
        let ref: CLIPReference = try TestPaths.referenceJSON("image/fullsize/\(file).json")
        XCTAssertEqual(ref.config.vision, expected.vision)
        XCTAssertEqual(ref.config.projectionDim, expected.projectionDim)
        XCTAssertEqual(ref.config.text.hiddenSize, expected.text.hiddenSize)
        let model = try CLIPModel(config: ref.config, weights: FormulaWeights(ref.tensors, path: file))
        var image = [Float](repeating: 0, count: model.dimension)
        let x = Self.input(size: ref.image_size)
        x.withUnsafeBufferPointer { px in
            image.withUnsafeMutableBufferPointer { model.vision.forward(images: [px.baseAddress!], into: [$0.baseAddress!], workspace: Workspace(), threads: 2) }
        }
        ImageTesting.assertParity([image], [ref.image_embedding], minCosine: 0.9999, "\(file) image")
        let texts = try model.embed(tokenIDs: ref.text_ids)
        ImageTesting.assertParity(texts, ref.text_embeddings, minCosine: 0.9999, "\(file) text")
        // One text on two threads (rows and heads split) agrees with the single-threaded run.
        let single = try model.embed(tokenIDs: [ref.text_ids[1]], threads: 2)
        XCTAssertLessThanOrEqual(ImageTesting.maxAbsDifference(single[0], texts[1]), 1e-4)
    }

    func testCLIPViTB32() throws { try checkCLIP("clip-vit-b32", expected: .vitB32) }

    func testCLIPViTL14() throws { try checkCLIP("clip-vit-l14", expected: .vitL14) }
}
