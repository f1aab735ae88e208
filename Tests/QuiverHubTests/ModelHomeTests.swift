import Foundation
import XCTest
@testable import QuiverHub
import QuiverTestSupport

final class ModelHomeTests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func testHomeFromEnvironment() {
        XCTAssertEqual(ModelHome.fromEnvironment(["QUIVER_HOME": "/srv/q", "HOME": "/home/u"]).modelsDirectory.path, "/srv/q/models")
        XCTAssertEqual(ModelHome.fromEnvironment(["HOME": "/home/u"]).root.path, "/home/u/.cache/quiver")
        XCTAssertEqual(ModelHome.fromEnvironment(["QUIVER_HOME": "", "HOME": "/home/u"]).root.path, "/home/u/.cache/quiver")
    }

    func testHubConfigurationFromEnvironment() throws {
        let c = HubConfiguration.fromEnvironment(["HOME": "/home/u", "HF_ENDPOINT": "http://mirror.local:8080/", "HF_TOKEN": "hf_x",
                                                  "HF_HUB_OFFLINE": "1", "HF_HOME": "/data/hf", "TORCH_HOME": "/data/torch"])
        XCTAssertEqual(c.endpoint.absoluteString, "http://mirror.local:8080")
        XCTAssertEqual(c.token, "hf_x")
        XCTAssertTrue(c.offline)
        XCTAssertEqual(c.huggingFaceCache.path, "/data/hf/hub")
        XCTAssertEqual(c.torchHubCheckpoints.path, "/data/torch/hub/checkpoints")

        let d = HubConfiguration.fromEnvironment(["HOME": "/home/u", "HF_HUB_CACHE": "/cache/hub", "HF_HUB_OFFLINE": "0"])
        XCTAssertEqual(d.endpoint.absoluteString, "https://huggingface.co")
        XCTAssertFalse(d.offline)
        XCTAssertEqual(d.huggingFaceCache.path, "/cache/hub")
        XCTAssertEqual(d.torchHubCheckpoints.path, "/home/u/.cache/torch/hub/checkpoints")

        // The token file of huggingface-cli login is read when no variable is set.
        let hfHome = temp.appendingPathComponent("hf")
        try FileManager.default.createDirectory(at: hfHome, withIntermediateDirectories: true)
        try Data("hf_from_file\n".utf8).write(to: hfHome.appendingPathComponent("token"))
        XCTAssertEqual(HubConfiguration.fromEnvironment(["HOME": "/home/u", "HF_HOME": hfHome.path]).token, "hf_from_file")
        XCTAssertNil(HubConfiguration.fromEnvironment(["HOME": temp.path]).token)
    }

    func testResolvesCatalogNamesAndHubIDsCaseInsensitively() throws {
        let home = ModelHome(root: temp)
        for name in ["all-MiniLM-L6-v2", "ALL-minilm-l6-V2", "sentence-transformers/all-MiniLM-L6-v2"] {
            let m = try home.resolve(name)
            XCTAssertEqual(m.origin, .catalog)
            XCTAssertEqual(m.entry.name, "all-MiniLM-L6-v2")
            XCTAssertEqual(m.folder.path, temp.appendingPathComponent("models/all-MiniLM-L6-v2").path)
            XCTAssertFalse(m.isInstalled)
            XCTAssertEqual(m.missingFiles.last, "model.safetensors or pytorch_model.bin")
        }
    }

    func testUncataloguedHubIDGetsItsOwnFolder() throws {
        let m = try ModelHome(root: temp).resolve("acme/widget-embedder")
        XCTAssertEqual(m.origin, .hub)
        XCTAssertEqual(m.entry.hubID, "acme/widget-embedder")
        XCTAssertEqual(m.folder.lastPathComponent, "acme--widget-embedder")
        XCTAssertEqual(m.entry.sources, [.hub(repo: "acme/widget-embedder", revision: "main")])
    }

    func testUnknownNameListsTheClosestCatalogNames() {
        let home = ModelHome(root: temp)
        XCTAssertThrowsError(try home.resolve("all-minilm-l6")) { e in
            guard case HubError.unknownModel(let name, let suggestions) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(name, "all-minilm-l6")
            XCTAssertEqual(suggestions.first, "all-MiniLM-L6-v2")
            XCTAssertTrue("\(e)".contains("did you mean: all-MiniLM-L6-v2"), "\(e)")
        }
        XCTAssertThrowsError(try home.resolve("clip-vit-base-patch23")) { e in
            guard case HubError.unknownModel(_, let suggestions) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(suggestions.first, "clip-vit-base-patch32")
        }
        XCTAssertThrowsError(try home.resolve("wisper-tiny")) { e in
            guard case HubError.unknownModel(_, let suggestions) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(suggestions.first, "whisper-tiny")
        }
        XCTAssertThrowsError(try home.resolve("zzzzzzzzzzzzzzzz")) { e in
            guard case HubError.unknownModel(_, let suggestions) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(suggestions, [], "nothing is close")
        }
    }

    func testEditDistance() {
        XCTAssertEqual(editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(editDistance("", "abc"), 3)
        XCTAssertEqual(editDistance("same", "same"), 0)
    }

    func testLocalFolderIsDescribedFromItsFiles() throws {
        let dir = temp.appendingPathComponent("my-bert")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try Data(#"{"model_type":"bert","hidden_size":312}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        try Data(#"{"word_embedding_dimension":312,"pooling_mode_cls_token":true}"#.utf8).write(to: dir.appendingPathComponent("1_Pooling/config.json"))
        try Data(#"{"max_seq_length":128}"#.utf8).write(to: dir.appendingPathComponent("sentence_bert_config.json"))
        try Data(#"[{"type":"sentence_transformers.models.Transformer"},{"type":"sentence_transformers.models.Normalize"}]"#.utf8).write(to: dir.appendingPathComponent("modules.json"))
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("model.safetensors"))
        let m = try ModelHome(root: temp).resolve(dir.path)
        XCTAssertEqual(m.origin, .localFolder)
        XCTAssertEqual(m.folder.path, dir.path)
        XCTAssertEqual(m.entry.architecture, .bert)
        XCTAssertEqual(m.entry.modality, .text)
        XCTAssertEqual(m.entry.dimension, 312)
        XCTAssertEqual(m.entry.format, .safetensors)
        XCTAssertEqual(m.entry.defaults, ModelDefaults(pooling: .cls, normalize: true, maxSequenceLength: 128))
        XCTAssertTrue(m.isInstalled)

        XCTAssertThrowsError(try ModelHome(root: temp).resolve(temp.appendingPathComponent("nothing-here").path)) { e in
            XCTAssertTrue("\(e)".contains("no such folder"), "\(e)")
        }
    }

    func testPickleFormatsAreToldApartByMagicBytes() throws {
        let dir = temp.appendingPathComponent("nets")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data([0x50, 0x4B, 3, 4]).write(to: dir.appendingPathComponent("resnet50-11ad3fa6.pth"))
        let m = try ModelHome(root: temp).resolve(dir.path)
        XCTAssertEqual(m.entry.format, .pytorch)
        XCTAssertEqual(m.entry.architecture, .resnet)
        try Data([0x80, 0x02, 0x8A, 0x0A]).write(to: dir.appendingPathComponent("resnet50-11ad3fa6.pth"))
        XCTAssertEqual(try ModelHome(root: temp).resolve(dir.path).entry.format, .pytorchLegacy)
    }

    /// The installed PyPI models are recognized as installed, and describing their folders from the files
    /// gives what the catalog says (a check of both the catalog data and the inference).
    func testInstalledModelsAgreeWithTheCatalog() throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let home = ModelHome(root: TestPaths.modelHome)
        for name in ["all-MiniLM-L6-v2", "all-mpnet-base-v2"] {
            let m = try home.resolve(name)
            XCTAssertTrue(m.isInstalled, "\(name) missing \(m.missingFiles)")
            XCTAssertEqual(m.weightFile, WeightFile("model.safetensors", .safetensors))
            let inferred = ModelInference.describe(folder: m.folder)
            XCTAssertEqual(inferred.dimension, m.entry.dimension, name)
            XCTAssertEqual(inferred.architecture, m.entry.architecture, name)
            XCTAssertEqual(inferred.defaults.pooling, m.entry.defaults.pooling, name)
            XCTAssertEqual(inferred.defaults.normalize, m.entry.defaults.normalize, name)
            XCTAssertEqual(inferred.defaults.maxSequenceLength, m.entry.defaults.maxSequenceLength, name)
        }
        for name in ["faster-whisper-base", "faster-whisper-tiny.en"] {
            let m = try home.resolve(name)
            XCTAssertTrue(m.isInstalled, "\(name) missing \(m.missingFiles)")
            let inferred = ModelInference.describe(folder: m.folder)
            XCTAssertEqual(inferred.architecture, .whisper)
            XCTAssertEqual(inferred.format, .ctranslate2)
        }
        let e = try home.resolve("efficientnet-lite0")
        XCTAssertTrue(e.isInstalled)
        XCTAssertEqual(ModelInference.describe(folder: e.folder).format, .pytorchLegacy, "MODELS.md: legacy non-zip pickle")
        XCTAssertEqual(ModelInference.describe(folder: e.folder).architecture, .efficientnetLite)
    }
}
