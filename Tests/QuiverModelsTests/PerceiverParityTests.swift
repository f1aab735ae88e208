import Foundation
import XCTest
@testable import QuiverModels
import QuiverTestSupport
import QuiverWeights

/// Parity of the multimodal Perceiver encoder with transformers' `PerceiverForMultimodalAutoencoding`
/// on the tiny random model of Tests/Fixtures/perceiver/tiny-random (scripts/fixtures/make_perceiver.py:
/// 16 latents of 32, 2 blocks of 2 self-attention layers, 4 frames of 24x24, 192 audio samples,
/// 157 input rows of 405 channels; float16 weights, float32 reference), from the same input tensors.
///
/// Tolerances: cosine >= 0.9999 for the embedding, the latents after the cross-attention and the
/// last hidden state (each clip), and the preprocessed inputs; the preprocessed inputs also within
/// 1e-5 absolute (|values| <= 2.7, float32 rounding of the Fourier features).
final class PerceiverParityTests: XCTestCase {
    static let minimumCosine = 0.9999

    func loadModel() throws -> PerceiverMultimodalModel {
        try PerceiverMultimodalModel(folder: PerceiverFixture.folder)
    }

    /// Clip `b` of the fixture's input tensors (image [B, T, C, H, W], audio [B, samples, 1]).
    func clip(_ b: Int) throws -> PerceiverClip {
        let image = try PerceiverFixture.load("input_image.npy"), audio = try PerceiverFixture.load("input_audio.npy")
        let (t, h, w) = (image.shape[1], image.shape[3], image.shape[4])
        let perClip = image.count / image.shape[0], samples = audio.shape[1]
        return PerceiverClip(frames: Array(image.values[(b * perClip)..<((b + 1) * perClip)]), frameCount: t, height: h, width: w,
                             audio: Array(audio.values[(b * samples)..<((b + 1) * samples)]))
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String, maxAbs: Float? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let (cos, diff) = PerceiverFixture.compare(a, b)
        print("\(what): cosine \(cos), max abs difference \(diff)")
        XCTAssertGreaterThanOrEqual(cos, Self.minimumCosine, "\(what): cosine \(cos)", file: file, line: line)
        if let maxAbs { XCTAssertLessThanOrEqual(diff, maxAbs, "\(what): max abs difference \(diff)", file: file, line: line) }
    }

    func testConfigurationIsReadFromConfigJSON() throws {
        let model = try loadModel()
        let c = model.config
        XCTAssertEqual([c.numLatents, c.dLatents, c.numBlocks, c.numSelfAttendsPerBlock], [16, 32, 2, 2])
        XCTAssertEqual([c.numSelfAttentionHeads, c.numCrossAttentionHeads, c.numLabels], [4, 1, 8])
        XCTAssertEqual([c.imageSize, c.numFrames, c.audioSamplesPerFrame, c.samplesPerPatch], [24, 4, 48, 16])
        XCTAssertNil(c.qkChannels)
        // 16 samples + 1 + 2*192 (audio) is the widest modality; 4 channels of padding on top.
        XCTAssertEqual([c.audioChannels, c.imageChannels, c.inputChannels, c.crossQKChannels], [401, 243, 405, 405])
        XCTAssertEqual(model.dimension, 32)
        XCTAssertEqual(model.name, "multimodal-perceiver-16x32")
    }

    func testPreprocessedInputsMatch() throws {
        let model = try loadModel()
        let reference = try PerceiverFixture.load("preprocessed.npy")
        let clip = try clip(0)
        XCTAssertEqual(model.inputRowCount(frames: clip.frameCount, height: clip.height, width: clip.width, audioSamples: clip.audio.count),
                       reference.shape[1])
        let rows = try model.inputRows(of: clip)
        XCTAssertEqual(rows.count, reference.count)
        assertClose(rows, reference.values, "preprocessed inputs", maxAbs: 1e-5)
        // Row by row, so a layout error names its modality.
        let width = reference.shape[2], audioRows = 12, imageRows = 144
        for (name, range) in [("audio", 0..<audioRows), ("image", audioRows..<(audioRows + imageRows)),
                              ("label", (audioRows + imageRows)..<(audioRows + imageRows + 1))] {
            let a = Array(rows[(range.lowerBound * width)..<(range.upperBound * width)])
            let b = Array(reference.values[(range.lowerBound * width)..<(range.upperBound * width)])
            assertClose(a, b, "preprocessed \(name) rows", maxAbs: 1e-5)
        }
    }

    /// The Fourier position features at the hub model's resolution (16 frames of 224 px: 16x56x56
    /// image patches, 30720 samples: 1920 audio patches), selected rows, within 1e-5 absolute (the
    /// positions and frequencies are bit-exact, so only sin/cos rounding is left; at the highest
    /// audio frequency, 15360, one ulp of a position would already move a sine by ~3e-3).
    func testFourierFeaturesAtFullSize() throws {
        let audioRef = try PerceiverFixture.load("fourier_audio_rows.npy"), audioIndex = try PerceiverFixture.load("fourier_audio_row_index.npy")
        let audio = PerceiverFourierAxis(count: 1920, resolution: 30720, bands: 192)
        let aw = PerceiverFourierAxis.width(dims: 1, bands: 192)
        XCTAssertEqual(audioRef.shape, [audioIndex.count, aw])
        var worstAudio: Float = 0
        for (n, index) in audioIndex.values.enumerated() {
            var row = [Float](repeating: 0, count: aw)
            row.withUnsafeMutableBufferPointer { PerceiverFourierAxis.writeRow([audio], indices: [Int(index)], into: $0.baseAddress!) }
            let (cos, diff) = PerceiverFixture.compare(row, Array(audioRef.values[(n * aw)..<((n + 1) * aw)]))
            worstAudio = max(worstAudio, diff)
            XCTAssertGreaterThanOrEqual(cos, 0.9999999, "audio row \(Int(index))")
            XCTAssertLessThanOrEqual(diff, 1e-5, "audio row \(Int(index))")
        }
        let imageRef = try PerceiverFixture.load("fourier_image_rows.npy"), imageIndex = try PerceiverFixture.load("fourier_image_row_index.npy")
        let axes = [PerceiverFourierAxis(count: 16, resolution: 16, bands: 32), PerceiverFourierAxis(count: 56, resolution: 224, bands: 32),
                    PerceiverFourierAxis(count: 56, resolution: 224, bands: 32)]
        let iw = PerceiverFourierAxis.width(dims: 3, bands: 32)
        XCTAssertEqual(imageRef.shape, [imageIndex.count, iw])
        var worstImage: Float = 0
        for (n, index) in imageIndex.values.enumerated() {
            let i = Int(index)
            var row = [Float](repeating: 0, count: iw)
            row.withUnsafeMutableBufferPointer { PerceiverFourierAxis.writeRow(axes, indices: [i / 3136, (i / 56) % 56, i % 56], into: $0.baseAddress!) }
            let (_, diff) = PerceiverFixture.compare(row, Array(imageRef.values[(n * iw)..<((n + 1) * iw)]))
            worstImage = max(worstImage, diff)
            XCTAssertLessThanOrEqual(diff, 1e-5, "image row \(i)")
        }
        print("full-size Fourier features: audio max abs difference \(worstAudio), image \(worstImage)")
    }

    func testLatentsAndEmbeddingMatch() throws {
        let model = try loadModel()
        let latents = try PerceiverFixture.load("latents.npy"), afterCross = try PerceiverFixture.load("latents_after_cross.npy")
        let embeddings = try PerceiverFixture.load("embedding.npy")
        let per = latents.count / latents.shape[0], d = model.dimension
        XCTAssertEqual(latents.shape, [2, 16, 32])
        for b in 0..<2 {
            let clip = try clip(b)
            let cross = try model.encode(clip, selfAttention: false, threads: 1)
            assertClose(cross, Array(afterCross.values[(b * per)..<((b + 1) * per)]), "clip \(b) latents after cross-attention")
            let state = try model.encode(clip, threads: 1)
            assertClose(state, Array(latents.values[(b * per)..<((b + 1) * per)]), "clip \(b) last hidden state")
            let embedding = try model.embed(clip, threads: 1)
            assertClose(embedding, Array(embeddings.values[(b * d)..<((b + 1) * d)]), "clip \(b) embedding")
            let norm = embedding.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
        }
    }

    /// Blocks of 7 input rows (23 blocks, the running softmax rescaled many times) and input shares
    /// on 2 and 3 threads give the single-block result: cosine >= 0.9999999, and the
    /// embedding still within the parity bound of the reference.
    func testChunkedCrossAttentionMatchesOneBlock() throws {
        let model = try loadModel()
        let clip = try clip(1)
        let whole = try model.encode(clip, chunkRows: 4096, threads: 1)
        let embeddings = try PerceiverFixture.load("embedding.npy")
        for (chunk, threads) in [(7, 1), (7, 2), (16, 3), (1, 2)] {
            let state = try model.encode(clip, chunkRows: chunk, threads: threads)
            let (cos, diff) = PerceiverFixture.compare(state, whole)
            print("chunk \(chunk), threads \(threads): cosine \(cos), max abs difference \(diff) vs one block")
            XCTAssertGreaterThanOrEqual(cos, 0.9999999, "chunk \(chunk) threads \(threads)")
            let embedding = PerceiverMultimodalModel.embedding(lastHiddenState: state, width: model.dimension)
            assertClose(embedding, Array(embeddings.values[32..<64]), "clip 1 embedding, chunk \(chunk) threads \(threads)")
        }
    }

    func testClipSizesAreChecked() throws {
        let model = try loadModel()
        var clip = try clip(0)
        clip.audio.removeLast(3)
        XCTAssertThrowsError(try model.encode(clip)) { error in
            guard case ModelsError.invalidInput(let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("samples_per_patch (16)"), reason)
        }
        clip = try self.clip(0)
        clip.frames.removeLast()
        XCTAssertThrowsError(try model.encode(clip))
        clip = try self.clip(0)
        clip.height = 22
        XCTAssertThrowsError(try model.encode(clip))
    }

    /// A configuration that does not match the checkpoint fails on the tensor it names.
    func testMismatchedConfigurationNamesTheTensor() throws {
        var config = try PerceiverConfig.load(PerceiverFixture.folder.appendingPathComponent("config.json"))
        config.dLatents = 48
        let weights = try WeightFiles.open(path: PerceiverFixture.folder.appendingPathComponent("model.safetensors").path)
        XCTAssertThrowsError(try PerceiverMultimodalModel(config: config, weights: weights)) { error in
            XCTAssertTrue("\(error)".contains("perceiver.embeddings.latents"), "\(error)")
        }
        config = try PerceiverConfig.load(PerceiverFixture.folder.appendingPathComponent("config.json"))
        config.samplesPerPatch = 8   // changes every modality's width and the padding shapes
        XCTAssertThrowsError(try PerceiverMultimodalModel(config: config, weights: weights)) { error in
            XCTAssertTrue("\(error)".contains("input_preprocessor.padding"), "\(error)")
        }
    }

    /// The working memory the documentation states for a configuration of the hub model's size
    /// (784 latents of 512, 8 self-attention layers of 8 heads, one cross-attention head, 700
    /// labels, 16 frames of 224 px and 30720 samples: 52,097 input rows of 704 channels).
    func testWorkingMemoryDoesNotHoldTheInputs() throws {
        var c = PerceiverConfig()
        c.numLatents = 784; c.dLatents = 512; c.numSelfAttendsPerBlock = 8; c.numCrossAttentionHeads = 1
        c.imageSize = 224; c.numLabels = 700
        XCTAssertEqual(c.inputChannels, 704)
        let rows = 1920 + 16 * 56 * 56 + 1
        let whole = 4 * (rows * (c.inputChannels + c.crossQKChannels + c.crossVChannels) + c.numLatents * rows)
        let one = PerceiverMultimodalModel.peakWorkingBytes(config: c, chunkRows: 2048, threads: 1)
        let two = PerceiverMultimodalModel.peakWorkingBytes(config: c, chunkRows: 2048, threads: 2)
        print("hub-size working memory: \(one) bytes on 1 thread, \(two) on 2; inputs, keys, values and scores held whole: \(whole)")
        XCTAssertLessThan(one, 32_000_000)
        XCTAssertLessThan(two, 2 * one)
        XCTAssertLessThan(one * 15, whole)
    }
}
