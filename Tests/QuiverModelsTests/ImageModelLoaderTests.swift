import Foundation
import QuiverMedia
@testable import QuiverModels
import QuiverTestSupport
import QuiverWeights
import XCTest

/// Shared helpers of the image-model tests.
enum ImageTesting {
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "lengths \(a.count) and \(b.count)")
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in 0..<a.count { dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i]) }
        return dot / max((na * nb).squareRoot(), 1e-30)
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// The decoded images a reference JSON lists (paths relative to Tests/Fixtures/reference).
    static func images(_ relative: [String]) throws -> [RGBImage] {
        try relative.map { try ImageDecoder.decode(contentsOf: TestPaths.reference.appendingPathComponent($0)).image }
    }

    static func assertParity(_ got: [[Float]], _ expected: [[Float]], minCosine: Double, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, what, file: file, line: line)
        for (i, (g, e)) in zip(got, expected).enumerated() {
            XCTAssertEqual(g.count, e.count, "\(what) \(i) length", file: file, line: line)
            guard g.count == e.count else { continue }
            let c = cosine(g, e)
            XCTAssertGreaterThanOrEqual(c, minCosine, "\(what) \(i): cosine \(c), max |diff| \(maxAbsDifference(g, e))", file: file, line: line)
        }
    }
}

/// `ImageModels.detect`/`load`: which model a folder or file is, and the errors for what is not one.
final class ImageModelLoaderTests: XCTestCase {
    let models = TestPaths.reference.appendingPathComponent("models")

    func testRecognizesFoldersAndCheckpoints() throws {
        XCTAssertEqual(try ImageModels.detect(models.appendingPathComponent("tiny-random-resnet-hf")).kind, .resnetHuggingFace)
        XCTAssertEqual(try ImageModels.detect(models.appendingPathComponent("tiny-random-clip")).kind, .clip)
        let tv = try ImageModels.detect(models.appendingPathComponent("tiny-random-resnet-torchvision"))
        XCTAssertEqual(tv.kind, .resnetTorchvision)
        XCTAssertEqual(tv.location.lastPathComponent, "resnet_bottleneck_1111.pth")

        let hf = try ImageModels.load(models.appendingPathComponent("tiny-random-resnet-hf"))
        XCTAssertEqual(hf.dimension, 128)
        // microsoft/resnet-50's ConvNextImageProcessor: shorter side int(224 / 0.875) = 256, crop 224.
        XCTAssertEqual(hf.preprocessor.resize, .shortestEdge(256))
        XCTAssertEqual(hf.preprocessor.centerCrop, .init(width: 224, height: 224))
        let torchvision = try ImageModels.load(tv.location)
        XCTAssertEqual(torchvision.dimension, 2048)
        XCTAssertEqual(torchvision.preprocessor, .torchvisionImageNet)
        XCTAssertEqual(torchvision.name, "resnet14 (torchvision)")
        let clip = try ImageModels.load(models.appendingPathComponent("tiny-random-clip"))
        XCTAssertEqual(clip.dimension, 32)
        XCTAssertEqual(clip.preprocessor.filter, .bicubic)
    }

    func testRecognizesEfficientNetLiteCheckpoint() throws {
        let folder = try TestPaths.model("efficientnet-lite0")
        let found = try ImageModels.detect(folder)
        XCTAssertEqual(found.kind, .efficientNetLite)
        XCTAssertEqual(found.location.pathExtension, "pth")
    }

    func testRejectsWhatIsNotAnImageModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-image-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try ImageModels.detect(dir.appendingPathComponent("missing"))) {
            XCTAssertEqual($0 as? ModelsError, .missingFile(path: dir.appendingPathComponent("missing").path))
        }
        XCTAssertThrowsError(try ImageModels.detect(dir)) { XCTAssertTrue("\($0)".contains("without config.json or a checkpoint"), "\($0)") }
        try #"{"model_type": "bert"}"#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ImageModels.detect(dir)) { XCTAssertTrue("\($0)".contains("model_type 'bert'"), "\($0)") }
    }

    func testWrongConfigNamesTheTensor() throws {
        // The HF tiny ResNet's weights with a config that claims one more block in stage 1.
        let folder = models.appendingPathComponent("tiny-random-resnet-hf")
        var config = try ResNetConfig.load(folder.appendingPathComponent("config.json"))
        config.depths[0] += 1
        let weights = try WeightFiles.open(path: folder.appendingPathComponent("model.safetensors").path)
        XCTAssertThrowsError(try ResNet(config: config, weights: weights)) {
            XCTAssertTrue("\($0)".contains("encoder.stages.0.layers.1.layer.0.convolution.weight"), "\($0)")
        }
        config.depths[0] -= 2
        XCTAssertThrowsError(try ResNet(config: config, weights: weights)) { XCTAssertTrue("\($0)".contains("sizes must be positive"), "\($0)") }
    }

    func testImageOfWrongSizeIsRejected() throws {
        let clip = try CLIPModel(folder: models.appendingPathComponent("tiny-random-clip"))
        let image = ImagePreprocessor.clip.normalized(try RGBImage(width: 32, height: 32, pixels: [UInt8](repeating: 9, count: 3 * 32 * 32)))
        XCTAssertThrowsError(try clip.embed([image])) {
            XCTAssertEqual($0 as? ModelsError, .invalidImage(index: 0, reason: "is 3x32x32, \(clip.name) takes 3x224x224 (preprocess it with the model's preprocessor)"))
        }
        XCTAssertThrowsError(try clip.embed(tokenIDs: [[49406, 49407], []])) { XCTAssertEqual($0 as? ModelsError, .emptySequence(sequence: 1)) }
        XCTAssertThrowsError(try clip.embed(tokenIDs: [[49406, 49408]])) {
            XCTAssertEqual($0 as? ModelsError, .invalidTokenID(sequence: 0, position: 1, id: 49408, vocabularySize: 49408))
        }
    }
}

/// A checkpoint seen under other names: every tensor as `prefix + name`, plus extra tensors.
struct RenamedWeights: WeightSource {
    let base: WeightSource
    let prefix: String
    let extra: [String: [Float]]
    var path: String { base.path }
    var infos: [WeightInfo] {
        (base.infos.map { WeightInfo(name: prefix + $0.name, shape: $0.shape, dtype: $0.dtype) }
            + extra.map { WeightInfo(name: $0.key, shape: [$0.value.count], dtype: .float32) }).sorted { $0.name < $1.name }
    }
    func info(_ name: String) -> WeightInfo? { infos.first { $0.name == name } }
    func tensor(_ name: String) throws -> WeightTensor {
        if let v = extra[name] { return WeightTensor(name: name, shape: [v.count], sourceDType: .float32, storage: FloatStorage(copying: v)) }
        guard name.hasPrefix(prefix) else { throw WeightsError.missingTensor(path: path, tensor: name, similar: []) }
        let t = try base.tensor(String(name.dropFirst(prefix.count)))
        return WeightTensor(name: name, shape: t.shape, sourceDType: t.sourceDType, storage: t.storage)
    }
}

final class ImageModelNamingTests: XCTestCase {
    /// A `ResNetForImageClassification` checkpoint (`resnet.` prefix, `classifier.*` head) gives
    /// the same features as the bare `ResNetModel`.
    func testHuggingFaceClassificationCheckpointLoadsUnderThePrefix() throws {
        let folder = TestPaths.reference.appendingPathComponent("models/tiny-random-resnet-hf")
        let config = try ResNetConfig.load(folder.appendingPathComponent("config.json"))
        let plain = try WeightFiles.open(path: folder.appendingPathComponent("model.safetensors").path)
        let prefixed = RenamedWeights(base: plain, prefix: "resnet.", extra: ["classifier.1.bias": [0, 1]])
        let a = try ResNet(config: config, weights: plain), b = try ResNet(config: config, weights: prefixed)
        let image = try ImageTesting.images(["media/coffee.png"])
        XCTAssertEqual(try a.embed(images: image), try b.embed(images: image))
        // Anything else left over is an error naming it.
        let stray = RenamedWeights(base: plain, prefix: "resnet.", extra: ["pooler.extra": [1]])
        XCTAssertThrowsError(try ResNet(config: config, weights: stray)) { XCTAssertTrue("\($0)".contains("pooler.extra"), "\($0)") }
    }

    /// Text pooling: the first end-of-text id, or the largest id for configs with eos_token_id 2.
    func testCLIPPoolingPosition() throws {
        let model = try CLIPModel(folder: TestPaths.reference.appendingPathComponent("models/tiny-random-clip"))
        XCTAssertEqual(model.text.poolIndex([49406, 320, 49407, 49407]), 2)
        XCTAssertEqual(CLIPTextTower.poolIndex([49406, 320, 49407, 5, 49407], eosTokenId: 2), 2)
        XCTAssertEqual(CLIPTextTower.poolIndex([5, 320, 500, 7], eosTokenId: 2), 2)
        XCTAssertEqual(CLIPTextTower.poolIndex([49406, 320, 500], eosTokenId: 49407), 0)
    }
}
