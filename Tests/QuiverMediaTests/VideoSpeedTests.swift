import Foundation
import QuiverMedia
import QuiverTestSupport
import XCTest

/// Decode throughput (release builds only). The bounds are about 10x below the rates measured on
/// the shared 2-core machine, so the test catches a per-frame reopen, a per-pixel allocation or
/// converting frames that are not sampled, not noise.
final class VideoSpeedTests: XCTestCase {
    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    func testDecodeThroughput() throws {
        #if DEBUG
        throw XCTSkip("timings are only meaningful in a release build (swift test -c release)")
        #else
        var lines: [String] = []
        for (name, frames) in [("bikes.mp4", 250), ("carphone_pristine.mp4", 120)] {
            let url = TestPaths.reference.appendingPathComponent("media/\(name)")
            _ = try VideoDecoder.sample(contentsOf: url, sampling: .uniform(1))  // warm the file cache
            var best = (decode: Double.infinity, rgb: Double.infinity, fps1: Double.infinity)
            for _ in 0..<3 {
                best.decode = min(best.decode, try seconds {
                    let d = try VideoDecoder(contentsOf: url)
                    while try d.nextFrame() != nil {}
                })
                best.rgb = min(best.rgb, try seconds { try VideoDecoder(contentsOf: url).frames(.everyFrame) { _ in } })
                best.fps1 = min(best.fps1, try seconds { try VideoDecoder(contentsOf: url).frames(.fps(1)) { _ in } })
            }
            let rate = { (s: Double) in Double(frames) / s }
            lines.append(String(format: "%@: decode only %.0f frames/s, decode + RGB every frame %.0f frames/s, fps:1 %.0f frames/s (of the source)",
                                name, rate(best.decode), rate(best.rgb), rate(best.fps1)))
            XCTAssertGreaterThan(rate(best.rgb), name == "bikes.mp4" ? 40 : 150, name)
            XCTAssertGreaterThan(rate(best.fps1), name == "bikes.mp4" ? 100 : 200, "\(name): fps:1")
        }
        let speech = TestPaths.reference.appendingPathComponent("media/speech_1_44k_stereo.wav")
        let audio = try seconds { for _ in 0..<10 { _ = try AudioDecoder.decode(contentsOf: speech) } } / 10
        lines.append(String(format: "audio 44.1 kHz stereo WAV -> 16 kHz mono: %.1f ms for 3.39 s (%.0fx real time)", audio * 1e3, 3.392 / audio))
        XCTAssertGreaterThan(3.392 / audio, 50)
        print("[speed] " + lines.joined(separator: "; "))
        #endif
    }
}
