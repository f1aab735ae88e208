import Foundation
@testable import QuiverModels
import QuiverTensor
import QuiverTestSupport
import QuiverWeights
import XCTest

/// DeepMind's multimodal Perceiver at full size (the configuration of deepmind/multimodal-perceiver:
/// 784 latents of 512, 704 input channels, 8 latent self-attention layers of 8 heads, one
/// cross-attention head, 700 labels, 16 frames of 224x224 with 30,720 samples) against PyTorch,
/// without shipping its weights.
///
/// scripts/fixtures/perceiver_fullsize_reference.py built transformers' `PerceiverForMultimodalAutoencoding`
/// with that configuration (Tests/Fixtures/perceiver/fullsize/config.json), set every tensor of the
/// state dict to `offset + scale * (u / 32768 - 1)`, `u = (i*i*7 + i*40503 + seed) mod 65536`, ran
/// one clip made by a formula (``clip()``) and saved the tensor specs with a few input rows, latent
/// rows after the cross-attention and at the end, and the embedding (reference.json). These tests
/// rebuild the same weights in memory and require cosine >= 0.9999 for the embedding and every latent
/// row (>= 0.99999 for the input rows, which are mostly copied pixels and position features; >= 0.999
/// for the final latent rows with their common mean removed).
///
/// The whole encoder runs (52,097 input rows into the cross-attention, all 8 self-attention layers):
/// nothing is reduced. One encoder pass takes about 1.5 s on 2 cores in release (the cross-attention
/// dominates); the after-cross check and the end-to-end check are separate tests.
///
/// ``testRealFileLayoutLoadsThroughTheFolderLoader`` writes the checkpoint as the hub serves it
/// (`pytorch_model.bin`, a `torch.save` zip archive, with all 183 real tensor names and shapes of
/// the state dict, decoder included; ~80 MB in a temporary folder, deleted afterwards) and loads
/// it through ``PerceiverMultimodalModel/init(folder:)``. The writer's file was checked once against
/// PyTorch (kept with `QUIVER_PERCEIVER_KEEP_BIN`): `torch.load(..., weights_only=True)` reads all 183
/// tensors with the formula's values, and transformers' model takes them with
/// `load_state_dict(strict=True)`.
final class PerceiverFullSizeTests: XCTestCase {
    typealias Spec = ImageFullSizeParityTests.Spec

    struct Reference: Decodable {
        let tensors: [Spec]
        let preprocessed_shape: [Int]
        let latent_rows: [Int]
        let input_rows: [Int]
        let inputs: [Float]
        let after_cross: [Float]
        let latents: [Float]
        let embedding: [Float]
    }

    static let folder = TestPaths.fixtures.appendingPathComponent("perceiver/fullsize")

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("reference.json")))
    }

    static func config() throws -> PerceiverConfig { try PerceiverConfig.load(folder.appendingPathComponent("config.json")) }

    static func formulaModel(_ ref: Reference) throws -> PerceiverMultimodalModel {
        try PerceiverMultimodalModel(config: try config(), weights: ImageFullSizeParityTests.FormulaWeights(ref.tensors, path: "multimodal-perceiver-formula"))
    }

    /// The fixed clip: pixel i of the `[frames, 3, size, size]` array is 0.5 + 0.5 sin(0.013 i + 0.3),
    /// sample j is 0.6 sin(0.0021 j + 0.1) cos(0.00037 j) (computed in Double, stored as Float, as
    /// the script does).
    static func clip(frames: Int = 16, size: Int = 224, samples: Int = 30720) -> PerceiverClip {
        let pixels = (0..<(frames * 3 * size * size)).map { Float(0.5 + 0.5 * Foundation.sin(0.013 * Double($0) + 0.3)) }
        let audio = (0..<samples).map { j -> Float in
            let x = Double(j)
            return Float(0.6 * Foundation.sin(0.0021 * x + 0.1) * Foundation.cos(0.00037 * x))
        }
        return PerceiverClip(frames: pixels, frameCount: frames, height: size, width: size, audio: audio)
    }

    static func rows(_ flat: [Float], width: Int) -> [[Float]] {
        stride(from: 0, to: flat.count, by: width).map { Array(flat[$0..<($0 + width)]) }
    }

    /// The committed config.json is the hub model's configuration, read the way the loader reads it.
    func testConfigurationIsTheHubModels() throws {
        let c = try Self.config()
        XCTAssertEqual([c.numLatents, c.dLatents, c.numBlocks, c.numSelfAttendsPerBlock], [784, 512, 1, 8])
        XCTAssertEqual([c.numSelfAttentionHeads, c.numCrossAttentionHeads, c.numLabels], [8, 1, 700])
        XCTAssertEqual([c.numFrames, c.audioSamplesPerFrame, c.samplesPerPatch, c.audioSamplesPerClip], [16, 1920, 16, 30720])
        // image_size is the position features' resolution (56); the frames are output_shape's 224.
        XCTAssertEqual(c.imageSize, 56)
        XCTAssertEqual(c.outputShape, [1, 16, 224, 224])
        XCTAssertEqual(c.frameSize, 224)
        XCTAssertEqual([c.audioChannels, c.imageChannels, c.inputChannels], [401, 243, 704])
        let ref = try Self.reference()
        let model = try Self.formulaModel(ref)
        XCTAssertEqual(model.inputRowCount(frames: 16, height: 224, width: 224, audioSamples: 30720), 52097)
        XCTAssertEqual(ref.preprocessed_shape, [1, 52097, 704])
    }

    /// The input rows (audio patches, image patches, label) and the latents after the
    /// cross-attention over all 52,097 of them.
    func testInputRowsAndCrossAttentionMatchPyTorch() throws {
        let ref = try Self.reference()
        let model = try Self.formulaModel(ref)
        let clip = Self.clip()
        let width = model.config.inputChannels
        let inputs = try ref.input_rows.map { try model.inputRows(of: clip, rows: $0..<($0 + 1)) }
        ImageTesting.assertParity(inputs, Self.rows(ref.inputs, width: width), minCosine: 0.99999, "input rows")
        let state = try model.encode(clip, selfAttention: false, threads: 2)
        let d = model.dimension
        let got = ref.latent_rows.map { Array(state[($0 * d)..<(($0 + 1) * d)]) }
        ImageTesting.assertParity(got, Self.rows(ref.after_cross, width: d), minCosine: 0.9999, "latents after cross-attention")
    }

    /// The whole encoder: latent rows of the last hidden state and the embedding.
    func testEncoderAndEmbeddingMatchPyTorch() throws {
        let ref = try Self.reference()
        let model = try Self.formulaModel(ref)
        let state = try model.encode(Self.clip(), threads: 2)
        let d = model.dimension
        let got = ref.latent_rows.map { Array(state[($0 * d)..<(($0 + 1) * d)]) }
        ImageTesting.assertParity(got, Self.rows(ref.latents, width: d), minCosine: 0.9999, "last hidden state rows")
        let embedding = PerceiverMultimodalModel.embedding(lastHiddenState: state, width: d)
        ImageTesting.assertParity([embedding], [ref.embedding], minCosine: 0.9999, "embedding")
        // The formula weights give latents with a large common part (rows 0 and 391: cosine ~0.995),
        // so the rows are also compared with their mean removed: what distinguishes one latent from
        // another must match too.
        XCTAssertLessThan(ImageTesting.cosine(got[0], got[3]), 0.999)
        let expected = Self.rows(ref.latents, width: d)
        func centred(_ rows: [[Float]]) -> [[Float]] {
            let mean = (0..<d).map { c in rows.reduce(Float(0)) { $0 + $1[c] } / Float(rows.count) }
            return rows.map { r in (0..<d).map { r[$0] - mean[$0] } }
        }
        ImageTesting.assertParity(centred(got), centred(expected), minCosine: 0.999, "last hidden state rows minus their mean")
    }

    /// The real file layout: `pytorch_model.bin` as `torch.save` writes it, holding every tensor of
    /// the state dict under its real name and shape (formula values), next to config.json, loaded
    /// through the folder loader; the model must equal the one built from the formula directly.
    func testRealFileLayoutLoadsThroughTheFolderLoader() throws {
        let ref = try Self.reference()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("perceiver-fullsize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        let formula = ImageFullSizeParityTests.FormulaWeights(ref.tensors, path: "formula")
        let tensors = try ref.tensors.map { spec in (spec.name, spec.shape, try formula.tensor(spec.name).storage.array) }
        try TorchZipWriter.write(tensors, to: dir.appendingPathComponent("pytorch_model.bin"))
        // QUIVER_PERCEIVER_KEEP_BIN=PATH keeps a copy, e.g. to check it with torch.load.
        if let keep = ProcessInfo.processInfo.environment["QUIVER_PERCEIVER_KEEP_BIN"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(at: dir.appendingPathComponent("pytorch_model.bin"), to: URL(fileURLWithPath: keep))
        }

        let file = try Checkpoint.open(in: dir)
        XCTAssertEqual(file.infos.count, 183)
        XCTAssertEqual(Set(file.infos.map(\.name)), Set(ref.tensors.map(\.name)))
        let loaded = try PerceiverMultimodalModel(folder: dir)
        XCTAssertEqual(loaded.name, "multimodal-perceiver-784x512")
        let direct = try Self.formulaModel(ref)
        // A short clip (2 frames of 32x32, 256 samples) exercises every weight; same weights, same numbers.
        let small = Self.clip(frames: 2, size: 32, samples: 256)
        let a = try loaded.encode(small, threads: 2), b = try direct.encode(small, threads: 2)
        XCTAssertEqual(a, b)
        XCTAssertEqual(try loaded.embed(small, threads: 2), try direct.embed(small, threads: 2))
        XCTAssertEqual(a.count, 784 * 512)
    }
}

/// A minimal writer of the zip checkpoint `torch.save` makes (`archive/data.pkl` with a protocol-2
/// pickle of an `OrderedDict` of `torch._utils._rebuild_tensor_v2` calls on `FloatStorage`s,
/// `archive/byteorder`, `archive/data/<key>` stored uncompressed and 64-byte aligned,
/// `archive/version`), for tests of the real file layout without committing the file.
enum TorchZipWriter {
    static func write(_ tensors: [(name: String, shape: [Int], values: [Float])], to url: URL) throws {
        var pkl = [UInt8]()
        func op(_ b: UInt8) { pkl.append(b) }
        func string(_ s: String) { let u = Array(s.utf8); op(0x58); le32(&pkl, UInt32(u.count)); pkl += u }
        func int(_ v: Int) {
            if v < 256 { op(0x4B); op(UInt8(v)) } else { op(0x4A); le32(&pkl, UInt32(bitPattern: Int32(v))) }
        }
        func global(_ module: String, _ name: String) { op(0x63); pkl += Array("\(module)\n\(name)\n".utf8) }
        func tuple(_ items: [Int]) { op(0x28); items.forEach(int); op(0x74) }
        op(0x80); op(2)
        global("collections", "OrderedDict"); op(0x29); op(0x52)
        op(0x28)
        for (key, t) in tensors.enumerated() {
            string(t.name)
            global("torch._utils", "_rebuild_tensor_v2")
            op(0x28)
            op(0x28); string("storage"); global("torch", "FloatStorage"); string("\(key)"); string("cpu"); int(t.values.count); op(0x74)
            op(0x51)
            int(0)
            tuple(t.shape)
            var strides = [Int](repeating: 1, count: t.shape.count)
            for d in stride(from: t.shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * t.shape[d + 1] }
            tuple(strides)
            op(0x89)
            global("collections", "OrderedDict"); op(0x29); op(0x52)
            op(0x74)
            op(0x52)
        }
        op(0x75)
        op(0x2E)
        var entries: [(String, [UInt8])] = [("archive/data.pkl", pkl), ("archive/byteorder", Array("little".utf8))]
        for (key, t) in tensors.enumerated() {
            entries.append(("archive/data/\(key)", t.values.withUnsafeBytes { Array($0) }))
        }
        entries.append(("archive/version", Array("3\n".utf8)))
        try zip(entries).write(to: url)
    }

    static func le16(_ b: inout [UInt8], _ v: UInt16) { b += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ b: inout [UInt8], _ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { b.append(UInt8((v >> UInt32(s)) & 0xFF)) } }

    /// A ZIP archive of stored entries, each entry's data aligned to 64 bytes by a padding extra field.
    static func zip(_ entries: [(String, [UInt8])]) -> Data {
        var out = [UInt8](), directory = [UInt8]()
        for (name, data) in entries {
            let n = Array(name.utf8), crc = crc32(data), offset = out.count
            let pad = (64 - (out.count + 30 + n.count + 4) % 64) % 64
            var header = [UInt8]()
            le32(&header, 0x0403_4B50); le16(&header, 20); le16(&header, 0); le16(&header, 0); le16(&header, 0); le16(&header, 0)
            le32(&header, crc); le32(&header, UInt32(data.count)); le32(&header, UInt32(data.count))
            le16(&header, UInt16(n.count)); le16(&header, UInt16(4 + pad))
            header += n
            le16(&header, 0x4B46); le16(&header, UInt16(pad)); header += [UInt8](repeating: 0x5A, count: pad)
            out += header
            out += data
            le32(&directory, 0x0201_4B50); le16(&directory, 20); le16(&directory, 20); le16(&directory, 0); le16(&directory, 0)
            le16(&directory, 0); le16(&directory, 0); le32(&directory, crc); le32(&directory, UInt32(data.count)); le32(&directory, UInt32(data.count))
            le16(&directory, UInt16(n.count)); le16(&directory, 0); le16(&directory, 0); le16(&directory, 0); le16(&directory, 0)
            le32(&directory, 0); le32(&directory, UInt32(offset)); directory += n
        }
        let cdOffset = out.count
        out += directory
        le32(&out, 0x0605_4B50); le16(&out, 0); le16(&out, 0); le16(&out, UInt16(entries.count)); le16(&out, UInt16(entries.count))
        le32(&out, UInt32(directory.count)); le32(&out, UInt32(cdOffset)); le16(&out, 0)
        return Data(out)
    }

    static let crcTable: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        crcTable.withUnsafeBufferPointer { t in
            for b in data { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
