import XCTest
@testable import Quiver
import QuiverTestSupport

/// The facade's audio path: file → 16 kHz mono → Whisper encoder mean, L2-normalized.
final class AudioEmbedderTests: XCTestCase {
    func testSpeechClipsAreNormalizedAndDistinct() throws {
        _ = try TestPaths.model("faster-whisper-base")
        let e = try AudioEmbedder(model: "faster-whisper-base", home: ModelHome(root: TestPaths.modelHome))
        XCTAssertEqual(e.dimension, 512)
        let a = try e.embed(file: TestPaths.reference.appendingPathComponent("media/speech_0.wav"))
        let b = try e.embed(file: TestPaths.reference.appendingPathComponent("media/speech_1.wav"))
        XCTAssertEqual(a.vector.count, 512)
        XCTAssertEqual(a.vector.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4)
        XCTAssertGreaterThan(a.seconds, 0.5)
        let again = try e.embed(file: TestPaths.reference.appendingPathComponent("media/speech_0.wav"))
        XCTAssertEqual(again.vector, a.vector, "deterministic")
        let cos = zip(a.vector, b.vector).reduce(0) { $0 + $1.0 * $1.1 }
        XCTAssertLessThan(cos, 0.9999, "two different clips give different vectors")
    }

    func testImageModelIsRefusedForAudio() throws {
        _ = try TestPaths.model("efficientnet-lite0")
        XCTAssertThrowsError(try AudioEmbedder(model: "efficientnet-lite0", home: ModelHome(root: TestPaths.modelHome))) { e in
            XCTAssertEqual(e as? QuiverError, .unsupportedModality(model: "efficientnet-lite0", modality: "audio", supported: ["image"]))
        }
    }
}
