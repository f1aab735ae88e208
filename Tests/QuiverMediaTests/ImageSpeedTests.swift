import Foundation
import QuiverMedia
import QuiverTestSupport
import XCTest

/// Timings of decode + preprocess (release builds only; debug code is not representative).
/// The bounds are generous (about 10x the measured times on a shared 2-core machine) so the
/// test catches an accidental per-pixel allocation or a quadratic loop, not noise.
final class ImageSpeedTests: XCTestCase {
    private func median(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times.sorted()[runs / 2]
    }

    func testDecodeAndPreprocessSpeed() throws {
        #if DEBUG
        throw XCTSkip("timings are only meaningful in a release build (swift test -c release)")
        #else
        let png = TestPaths.reference.appendingPathComponent("media/astronaut.png")  // 512x512 RGB
        let jpeg = TestPaths.reference.appendingPathComponent("media/rocket.jpg")    // 640x427
        let data = try Data(contentsOf: png)
        let decodePNG = try median(15) { _ = try ImageDecoder.decode(data: data) }
        let jpegData = try Data(contentsOf: jpeg)
        let decodeJPEG = try median(15) { _ = try ImageDecoder.decode(data: jpegData) }
        let image = try ImageDecoder.decode(data: data).image
        let clip = try median(15) { _ = try ImagePreprocessor.clip(image) }
        let imagenet = try median(15) { _ = try ImagePreprocessor.torchvisionImageNet(image) }
        // A 1280x720 video frame (made by resizing the sample; the content does not matter).
        let frame = try image.resized(width: 1280, height: 720, filter: .bilinear)
        let frameLite0 = try median(15) { _ = try ImagePreprocessor.efficientNetLite0(frame) }
        let frameCLIP = try median(15) { _ = try ImagePreprocessor.clip(frame) }
        let fullResize = try median(15) { _ = try frame.resized(width: 455, height: 256, filter: .bilinear) }
        print(String(format: "[speed] decode PNG 512x512 %.2f ms, decode JPEG 640x427 %.2f ms, CLIP preprocess 512x512 %.2f ms, ImageNet preprocess 512x512 %.2f ms, 1280x720 frame: EfficientNet-Lite0 %.2f ms, CLIP %.2f ms, full resize to 455x256 %.2f ms",
                     decodePNG, decodeJPEG, clip, imagenet, frameLite0, frameCLIP, fullResize))
        XCTAssertLessThan(decodePNG + clip, 100)
        XCTAssertLessThan(decodeJPEG, 60)
        XCTAssertLessThan(frameLite0, 40)
        XCTAssertLessThan(frameCLIP, 40)
        #endif
    }
}
