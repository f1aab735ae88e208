import Foundation
import XCTest
@testable import QuiverModels
import QuiverMedia
import QuiverWeights
import QuiverTestSupport

/// The Hugging Face layout: a tiny random `WhisperForConditionalGeneration` saved by transformers
/// (Tests/Fixtures/whisper/tiny-random-hf, made by scripts/fixtures/whisper_tiny_random.py) against
/// its reference outputs, and the real faster-whisper tiny.en weights renamed and split into the
/// Hugging Face layout in memory, which must give the CTranslate2 layout's outputs.
final class WhisperLayoutTests: XCTestCase {
    struct Reference: Decodable {
        let audio: String
        let num_samples: Int
        let start_token_id: Int
        let encoder_frames_used: Int
        let encoder_hidden_first2_frames: [[Float]]
        let encoder_hidden_last_frame: [Float]
        let encoder_mean_pooled: [Float]
        let seed_decoder_last_hidden_state: [[Float]]
    }

    static let folder = TestPaths.fixtures.appendingPathComponent("whisper/tiny-random-hf")

    /// Reference rounded to 6 decimals, weights exactly the float16 values the reference used:
    /// float32 reassociation only, so 1e-4 absolute on values of magnitude ~1–10.
    static let tolerance: Float = 1e-4

    func testTinyRandomHuggingFaceMatchesTransformers() throws {
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.folder.appendingPathComponent("reference.json")))
        let model = try WhisperEncoderModel(folder: Self.folder, pooling: .seedDecoder)
        XCTAssertEqual(model.layout, .huggingFace)
        XCTAssertEqual(model.startTokenID, ref.start_token_id, "decoder_start_token_id of config.json")
        XCTAssertEqual(model.dimension, 32)
        let samples = try AudioDecoder.decode(contentsOf: TestPaths.fixtures.appendingPathComponent(ref.audio)).samples
        XCTAssertEqual(samples.count, ref.num_samples)
        let hidden = model.encode(samples: samples)
        let d = model.dimension
        XCTAssertEqual(hidden.count, 1500 * d)
        assertClose(Array(hidden[0..<d]), ref.encoder_hidden_first2_frames[0], "frame 0")
        assertClose(Array(hidden[d..<(2 * d)]), ref.encoder_hidden_first2_frames[1], "frame 1")
        assertClose(Array(hidden[(1499 * d)...]), ref.encoder_hidden_last_frame, "frame 1499")
        assertClose(try model.pool(encoderOutput: hidden, sampleCount: samples.count, pooling: .mean, normalize: false),
                    ref.encoder_mean_pooled, "mean pooled")
        let states = try model.seedDecoderStates(encoderOutput: hidden)
        assertClose(Array(states[0..<d]), ref.seed_decoder_last_hidden_state[0], "seed position 0")
        assertClose(Array(states[d...]), ref.seed_decoder_last_hidden_state[1], "seed position 1")
        // The default pooling and the public embed path agree with the pieces above.
        let meanModel = try WhisperEncoderModel(folder: Self.folder)
        XCTAssertNil(meanModel.decoder, "mean pooling does not load the decoder")
        let embedded = try meanModel.embed(samples: samples)
        var expected = ref.encoder_mean_pooled
        let norm = expected.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in expected.indices { expected[i] /= norm }
        assertClose(embedded, expected, "embed (L2-normalized)")
        XCTAssertThrowsError(try meanModel.seedDecoderStates(encoderOutput: hidden)) { error in
            XCTAssertTrue("\(error)".contains("seedDecoder"), "\(error)")
        }
    }

    func testSinusoidsMatchTransformersInit() throws {
        let file = try SafeTensorsFile(path: Self.folder.appendingPathComponent("model.safetensors").path)
        let stored = try file.tensor("model.encoder.embed_positions.weight")
        let computed = whisperSinusoids(length: 1500, channels: 32)
        let worst = stored.withValues { v in zip(v, computed.buffer).map { abs($0 - $1) }.max() ?? 1 }
        // The file holds float16 (relative error 2^-11 on values up to 1).
        XCTAssertLessThanOrEqual(worst, 1e-3)
    }

    func testCTranslate2WeightsInHuggingFaceLayoutGiveTheSameOutputs() throws {
        let folder = try TestPaths.model("faster-whisper-tiny.en")
        let ct2 = try CTranslate2File(path: folder.appendingPathComponent("model.bin").path)
        let config = try WhisperConfig.inferred(fromCTranslate2: ct2)
        let hf = try WhisperMemoryWeights(huggingFaceFrom: ct2, config: config)
        let a = try WhisperEncoderModel(weights: ct2, layout: .ctranslate2, config: nil, pooling: .seedDecoder)
        let b = try WhisperEncoderModel(weights: hf, layout: .huggingFace, config: config, pooling: .seedDecoder)
        XCTAssertEqual(a.config, b.config)
        let samples = try AudioDecoder.decode(contentsOf: TestPaths.reference.appendingPathComponent("media/speech_0.wav")).samples
        let ha = a.encode(samples: samples), hb = b.encode(samples: samples)
        assertClose(ha, hb, "encoder output (all 1500 frames)")
        assertClose(try a.seedDecoderStates(encoderOutput: ha), try b.seedDecoderStates(encoderOutput: hb), "seed decoder states")
    }

    func testErrors() throws {
        let model = try WhisperEncoderModel(folder: Self.folder)
        XCTAssertThrowsError(try model.embed(samples: [])) { error in
            XCTAssertEqual(error as? ModelsError, .invalidInput(reason: "the audio has no samples; Whisper needs at least one sample at 16 kHz"))
        }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-whisper-empty-\(getpid())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try WhisperEncoderModel(folder: empty)) { error in
            XCTAssertTrue("\(error)".contains("model.bin") && "\(error)".contains("model.safetensors"), "\(error)")
        }
        // A checkpoint without a tensor the encoder needs names it.
        let file = try SafeTensorsFile(path: Self.folder.appendingPathComponent("model.safetensors").path)
        let config = try WhisperConfig.load(Self.folder.appendingPathComponent("config.json"))
        let partial = try WhisperMemoryWeights(file, dropping: "model.encoder.layers.1.fc2.bias")
        XCTAssertThrowsError(try WhisperEncoderModel(weights: partial, layout: .huggingFace, config: config)) { error in
            XCTAssertTrue("\(error)".contains("model.encoder.layers.1.fc2.bias"), "\(error)")
        }
    }

    func testWindowsOfLongAudio() throws {
        let model = try WhisperEncoderModel(folder: Self.folder)
        let speech = try AudioDecoder.decode(contentsOf: TestPaths.reference.appendingPathComponent("media/speech_0.wav")).samples
        // 30 s of speech-and-silence, then 5 s more.
        var long = [Float](repeating: 0, count: 480_000 + 80_000)
        for (i, s) in speech.enumerated() { long[i] = s; long[480_000 + i % 80_000] += s * 0.5 }
        let w = try model.embedWindows(samples: long)
        XCTAssertEqual(w.sampleRanges, [0..<480_000, 480_000..<560_000])
        XCTAssertEqual(w.windows.count, 2)
        // Each window equals embedding it alone, within float rounding (BLAS may block the GEMMs
        // of a 2-window batch differently from a 1-window one).
        for (window, alone) in [(w.windows[0], try model.embed(samples: Array(long[0..<480_000]))),
                                (w.windows[1], try model.embed(samples: Array(long[480_000...])))] {
            XCTAssertEqual(window.count, alone.count)
            for (a, b) in zip(window, alone) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        }
        // Duration-weighted: 1500 and 250 frames.
        let w0: Float = 1500.0 / 1750.0, w1: Float = 250.0 / 1750.0
        var expected = [Float](repeating: 0, count: model.dimension)
        for i in expected.indices { expected[i] = w0 * w.windows[0][i] + w1 * w.windows[1][i] }
        let n = expected.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in expected.indices { expected[i] /= n }
        assertClose(w.mean, expected, "window mean")
        XCTAssertEqual(try model.embed(samples: long), w.mean)
    }

    func testBatchSpreadsWindowsOverThreads() throws {
        let model = try WhisperEncoderModel(folder: Self.folder)
        let speech = try AudioDecoder.decode(contentsOf: TestPaths.reference.appendingPathComponent("media/speech_0.wav")).samples
        let clips = [speech, Array(speech.prefix(20_000)), Array(speech.reversed())]
        // Three windows on two threads: each thread runs whole windows single-threaded.
        let batch = try model.embed(batch: clips, threads: 2)
        XCTAssertEqual(batch.count, 3)
        for (i, clip) in clips.enumerated() {
            assertClose(batch[i], try model.embed(samples: clip, threads: 1), "recording \(i)")
        }
        XCTAssertGreaterThan(zip(batch[0], batch[1]).map { abs($0 - $1) }.max()!, 1e-3, "different audio, different vectors")
        XCTAssertThrowsError(try model.embed(batch: [speech, []])) { error in
            XCTAssertTrue("\(error)".contains("recording 1 has no samples"), "\(error)")
        }
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(diff, Self.tolerance, "\(what): max abs difference \(diff)", file: file, line: line)
    }
}

/// Tensors held in memory under chosen names.
struct WhisperMemoryWeights: WeightSource {
    let path: String
    let tensors: [String: WeightTensor]
    var infos: [WeightInfo] { tensors.values.map { WeightInfo(name: $0.name, shape: $0.shape, dtype: .float32) }.sorted { $0.name < $1.name } }
    func info(_ name: String) -> WeightInfo? { tensors[name].map { WeightInfo(name: name, shape: $0.shape, dtype: .float32) } }
    func tensor(_ name: String) throws -> WeightTensor {
        guard let t = tensors[name] else { throw WeightsError.missingTensor(path: path, tensor: name, similar: []) }
        return t
    }

    init(_ source: WeightSource, dropping: String) throws {
        path = source.path + " (without \(dropping))"
        var t: [String: WeightTensor] = [:]
        for n in source.names where n != dropping { t[n] = try source.tensor(n) }
        tensors = t
    }

    /// The CTranslate2 Whisper tensors under Hugging Face names: fused QKV / KV split into
    /// q/k/v_proj (the all-zero K bias dropped, as transformers has none), gamma/beta → weight/bias.
    init(huggingFaceFrom ct2: CTranslate2File, config c: WhisperConfig) throws {
        path = ct2.path + " (renamed to the Hugging Face layout)"
        var t: [String: WeightTensor] = [:]
        let d = c.dModel
        func put(_ name: String, _ values: [Float], _ shape: [Int]) {
            t[name] = WeightTensor(name: name, shape: shape, sourceDType: .float32, storage: FloatStorage(copying: values))
        }
        func copy(_ from: String, _ to: String) throws {
            let w = try ct2.tensor(from)
            put(to, w.array, w.shape)
        }
        func split(_ from: String, into names: [String?]) throws {
            let w = try ct2.tensor(from + "weight").array, b = try ct2.tensor(from + "bias").array
            for (i, name) in names.enumerated() {
                guard let name else { continue }
                put(name + ".weight", Array(w[(i * d * d)..<((i + 1) * d * d)]), [d, d])
                let bias = Array(b[(i * d)..<((i + 1) * d)])
                if name.hasSuffix("k_proj") { XCTAssertTrue(bias.allSatisfy { $0 == 0 }, "\(from) K bias"); continue }
                put(name + ".bias", bias, [d])
            }
        }
        func linear(_ from: String, _ to: String) throws { try copy(from + "weight", to + ".weight"); try copy(from + "bias", to + ".bias") }
        func norm(_ from: String, _ to: String) throws { try copy(from + "gamma", to + ".weight"); try copy(from + "beta", to + ".bias") }
        try linear("encoder/conv1/", "model.encoder.conv1")
        try linear("encoder/conv2/", "model.encoder.conv2")
        try copy("encoder/position_encodings/encodings", "model.encoder.embed_positions.weight")
        try norm("encoder/layer_norm/", "model.encoder.layer_norm")
        for i in 0..<c.encoderLayers {
            let s = "encoder/layer_\(i)/", h = "model.encoder.layers.\(i)."
            try split(s + "self_attention/linear_0/", into: [h + "self_attn.q_proj", h + "self_attn.k_proj", h + "self_attn.v_proj"])
            try linear(s + "self_attention/linear_1/", h + "self_attn.out_proj")
            try norm(s + "self_attention/layer_norm/", h + "self_attn_layer_norm")
            try linear(s + "ffn/linear_0/", h + "fc1")
            try linear(s + "ffn/linear_1/", h + "fc2")
            try norm(s + "ffn/layer_norm/", h + "final_layer_norm")
        }
        try copy("decoder/embeddings/weight", "model.decoder.embed_tokens.weight")
        try copy("decoder/position_encodings/encodings", "model.decoder.embed_positions.weight")
        try norm("decoder/layer_norm/", "model.decoder.layer_norm")
        for i in 0..<c.decoderLayers {
            let s = "decoder/layer_\(i)/", h = "model.decoder.layers.\(i)."
            try split(s + "self_attention/linear_0/", into: [h + "self_attn.q_proj", h + "self_attn.k_proj", h + "self_attn.v_proj"])
            try linear(s + "self_attention/linear_1/", h + "self_attn.out_proj")
            try norm(s + "self_attention/layer_norm/", h + "self_attn_layer_norm")
            try linear(s + "attention/linear_0/", h + "encoder_attn.q_proj")
            try split(s + "attention/linear_1/", into: [h + "encoder_attn.k_proj", h + "encoder_attn.v_proj"])
            try linear(s + "attention/linear_2/", h + "encoder_attn.out_proj")
            try norm(s + "attention/layer_norm/", h + "encoder_attn_layer_norm")
            try linear(s + "ffn/linear_0/", h + "fc1")
            try linear(s + "ffn/linear_1/", h + "fc2")
            try norm(s + "ffn/layer_norm/", h + "final_layer_norm")
        }
        tensors = t
    }
}
