import Foundation
import XCTest
import QuiverModels
import QuiverTensor
import QuiverTestSupport
import QuiverWeights

/// A checkpoint held in memory, for loader tests.
struct MemoryWeights: WeightSource {
    var path = "memory.safetensors"
    var tensors: [String: (shape: [Int], values: [Float])]
    var infos: [WeightInfo] { tensors.keys.sorted().map { WeightInfo(name: $0, shape: tensors[$0]!.shape, dtype: .float32) } }
    func info(_ name: String) -> WeightInfo? { tensors[name].map { WeightInfo(name: name, shape: $0.shape, dtype: .float32) } }
    func tensor(_ name: String) throws -> WeightTensor {
        guard let t = tensors[name] else { throw WeightsError.missingTensor(path: path, tensor: name, similar: []) }
        return WeightTensor(name: name, shape: t.shape, sourceDType: .float32, storage: FloatStorage(copying: t.values))
    }
}

final class ModelLoadingTests: XCTestCase {
    /// A tiny random BERT: hidden 8, 2 heads, 1 layer, intermediate 16, vocabulary 10, 12 positions.
    func tinyBert() -> (BertConfig, MemoryWeights) {
        var c = BertConfig()
        c.vocabSize = 10; c.hiddenSize = 8; c.numHiddenLayers = 1; c.numAttentionHeads = 2
        c.intermediateSize = 16; c.maxPositionEmbeddings = 12
        var seed: UInt64 = 1
        func values(_ n: Int) -> [Float] {
            (0..<n).map { _ in seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(bitPattern: seed >> 11) % 1000) / 5000 }
        }
        var t: [String: (shape: [Int], values: [Float])] = [:]
        func add(_ name: String, _ shape: [Int]) { t[name] = (shape, values(shape.reduce(1, *))) }
        add("embeddings.word_embeddings.weight", [10, 8])
        add("embeddings.position_embeddings.weight", [12, 8])
        add("embeddings.token_type_embeddings.weight", [2, 8])
        add("embeddings.LayerNorm.weight", [8]); add("embeddings.LayerNorm.bias", [8])
        let l = "encoder.layer.0."
        for n in ["query", "key", "value"] { add(l + "attention.self.\(n).weight", [8, 8]); add(l + "attention.self.\(n).bias", [8]) }
        add(l + "attention.output.dense.weight", [8, 8]); add(l + "attention.output.dense.bias", [8])
        add(l + "attention.output.LayerNorm.weight", [8]); add(l + "attention.output.LayerNorm.bias", [8])
        add(l + "intermediate.dense.weight", [16, 8]); add(l + "intermediate.dense.bias", [16])
        add(l + "output.dense.weight", [8, 16]); add(l + "output.dense.bias", [8])
        add(l + "output.LayerNorm.weight", [8]); add(l + "output.LayerNorm.bias", [8])
        add("pooler.dense.weight", [8, 8]); add("pooler.dense.bias", [8])
        t["embeddings.position_ids"] = ([1, 12], (0..<12).map(Float.init))
        return (c, MemoryWeights(tensors: t))
    }

    func testTinyBertLoadsIgnoringPoolerAndPositionIDs() throws {
        let (c, w) = tinyBert()
        let model = try BertModel(config: c, weights: w)
        let states = try model.hiddenStates([[1, 2, 3], [4]])
        XCTAssertEqual(states.map(\.shape), [[3, 8], [1, 8]])
        // Post-LayerNorm output with unit-ish gamma: each row has mean ≈ beta's mean, finite values.
        XCTAssertTrue(states.allSatisfy { $0.array.allSatisfy(\.isFinite) })
        // Packing is invisible: a sequence alone gives the same states as inside a batch.
        // Within float rounding: BLAS may block a 1-row GEMM differently from a 4-row one (OpenBLAS'
        // SkylakeX kernels do), which moves the last bits.
        let alone = try model.hiddenStates([[4]])[0]
        XCTAssertEqual(alone.array.count, states[1].array.count)
        for (a, b) in zip(alone.array, states[1].array) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testFolderWithoutWeightsNamesBothCheckpointFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-noweights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"model_type": "bert", "hidden_size": 8, "num_attention_heads": 2}"#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertModel(folder: dir)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains(dir.appendingPathComponent("model.safetensors").path) && text.contains("pytorch_model.bin"), text)
        }
    }

    func testMissingTensorIsNamed() throws {
        var (c, w) = tinyBert()
        w.tensors["encoder.layer.0.attention.self.key.bias"] = nil
        XCTAssertThrowsError(try BertModel(config: c, weights: w)) { error in
            guard case let .missingTensor(_, tensor, _)? = error as? WeightsError else { return XCTFail("\(error)") }
            XCTAssertEqual(tensor, "encoder.layer.0.attention.self.key.bias")
        }
        c.numHiddenLayers = 2
        XCTAssertThrowsError(try BertModel(config: c, weights: tinyBert().1)) { error in
            XCTAssertTrue("\(error)".contains("encoder.layer.1.attention.self.query.weight"), "\(error)")
        }
    }

    func testWrongShapeIsNamed() throws {
        var (c, w) = tinyBert()
        w.tensors["encoder.layer.0.intermediate.dense.weight"] = ([8, 16], [Float](repeating: 0, count: 128))
        XCTAssertThrowsError(try BertModel(config: c, weights: w)) { error in
            XCTAssertEqual(error as? WeightsError, .shapeMismatch(path: w.path, tensor: "encoder.layer.0.intermediate.dense.weight", expected: [16, 8], actual: [8, 16]))
        }
        c.hiddenSize = 9
        XCTAssertThrowsError(try BertModel(config: c, weights: tinyBert().1)) { error in
            XCTAssertTrue("\(error)".contains("not a multiple of num_attention_heads"), "\(error)")
        }
    }

    func testUnusedTensorIsNamed() throws {
        var (c, w) = tinyBert()
        w.tensors["encoder.layer.1.output.dense.weight"] = ([8, 16], [Float](repeating: 0, count: 128))
        XCTAssertThrowsError(try BertModel(config: c, weights: w)) { error in
            XCTAssertEqual(error as? WeightsError, .unusedTensors(path: w.path, tensors: ["encoder.layer.1.output.dense.weight"]))
        }
        c.positionEmbeddingType = "relative_key"
        XCTAssertThrowsError(try BertModel(config: c, weights: tinyBert().1)) { error in
            XCTAssertTrue("\(error)".contains("relative_key"), "\(error)")
        }
    }

    func testConfigDecodingUsesDefaultsForMissingKeys() throws {
        let c = try JSONDecoder().decode(BertConfig.self, from: Data(#"{"hidden_size": 384, "layer_norm_eps": 1e-5}"#.utf8))
        XCTAssertEqual(c.hiddenSize, 384)
        XCTAssertEqual(c.layerNormEps, 1e-5)
        XCTAssertEqual(c.numHiddenLayers, 12)
        XCTAssertEqual(c.hiddenAct, "gelu")
        let m = try JSONDecoder().decode(MPNetConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(m.relativeAttentionNumBuckets, 32)
        XCTAssertEqual(m.padTokenId, 1)
        XCTAssertThrowsError(try JSONDecoder().decode(BertConfig.self, from: Data(#"{"hidden_size": "big"}"#.utf8)))
    }

    /// Buckets computed by transformers' MPNetEncoder.relative_position_bucket (torch) for
    /// relative positions (memory - context), including the logarithmic boundaries 16, 32, 64, 128.
    func testMPNetRelativePositionBucketsMatchTransformers() {
        let expected: [(Int, Int)] = [(-500, 15), (-129, 15), (-128, 15), (-127, 15), (-65, 14), (-64, 14), (-63, 13), (-33, 12),
                                      (-32, 12), (-31, 11), (-17, 10), (-16, 10), (-15, 9), (-8, 8), (-7, 7), (0, 0), (7, 23),
                                      (8, 24), (15, 25), (16, 26), (17, 26), (31, 27), (32, 28), (33, 28), (63, 29), (64, 30),
                                      (65, 30), (127, 31), (128, 31), (129, 31), (500, 31)]
        for (relative, bucket) in expected {
            XCTAssertEqual(MPNetModel.relativePositionBucket(relative), bucket, "relative position \(relative)")
        }
    }

    func testPoolingModes() throws {
        // Two tokens of width 2: [1, 4], [3, 2].
        let states: [Float] = [1, 4, 3, 2]
        let p = Pooling(modes: [.mean, .cls, .max, .meanSqrtLength, .weightedMean, .lastToken], dimension: 2)
        XCTAssertEqual(p.modes, [.cls, .max, .mean, .meanSqrtLength, .weightedMean, .lastToken], "sentence-transformers' order")
        var out = [Float](repeating: .nan, count: p.outputDimension)
        p.pool(states, length: 2, into: &out)
        let r2 = Float(2).squareRoot()
        let expected: [Float] = [1, 4, 3, 4, 2, 3, 4 / r2, 6 / r2, (1 + 6) / 3, (4 + 4) / 3, 3, 2]
        for (a, b) in zip(out, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        var v: [Float] = [3, 4]
        Pooling.normalize(&v, count: 2)
        XCTAssertEqual(v, [0.6, 0.8])
        var zero: [Float] = [0, 0]
        Pooling.normalize(&zero, count: 2)
        XCTAssertEqual(zero, [0, 0])
    }

    func testPoolingConfigFromFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-pooling-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("config.json")
        try Data(#"{"word_embedding_dimension": 8, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#.utf8).write(to: url)
        XCTAssertEqual(try Pooling.load(url, dimension: 8).modes, [.cls])
        XCTAssertThrowsError(try Pooling.load(url, dimension: 16)) { error in
            XCTAssertTrue("\(error)".contains("word_embedding_dimension is 8"), "\(error)")
        }
        try Data(#"{"word_embedding_dimension": 8}"#.utf8).write(to: url)
        XCTAssertThrowsError(try Pooling.load(url, dimension: 8)) { error in
            XCTAssertTrue("\(error)".contains("no pooling mode"), "\(error)")
        }
        XCTAssertThrowsError(try Pooling.load(dir.appendingPathComponent("missing.json"), dimension: 8)) { error in
            XCTAssertEqual(error as? ModelsError, .missingFile(path: dir.appendingPathComponent("missing.json").path))
        }
    }
}
