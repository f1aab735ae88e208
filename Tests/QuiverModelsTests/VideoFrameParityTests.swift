import Foundation
import QuiverMedia
@testable import QuiverModels
import QuiverTestSupport
import XCTest

/// Video frames end to end: FFmpeg decoding and swscale's rgb24 conversion (QuiverMedia), the
/// EfficientNet-Lite0 recipe and the real checkpoint, against PyAV + PyTorch
/// (Tests/Fixtures/reference/video/*.json): features of the sampled frames with cosine >= 0.9999.
final class VideoFrameParityTests: XCTestCase {
    struct Reference: Decodable {
        let file: String
        let num_frames: Int
        let frame_indices: [Int]
        let frame_times_s: [Double]
        let efficientnet_lite0_features_1280: [[Float]]
    }

    func testFrameFeaturesMatchReference() throws {
        let folder = try TestPaths.model("efficientnet-lite0")
        let model = try ImageModels.load(folder)
        for name in ["bikes.mp4", "carphone_pristine.mp4"] {
            let ref: Reference = try TestPaths.referenceJSON("video/\(name).json")
            let decoder = try VideoDecoder(contentsOf: TestPaths.reference.appendingPathComponent(ref.file))
            var wanted = Set(ref.frame_indices)
            var images: [Int: RGBImage] = [:]
            var times: [Int: Double] = [:]
            while !wanted.isEmpty, let frame = try decoder.nextFrame() {
                if wanted.remove(frame.index) != nil {
                    images[frame.index] = try decoder.currentImage()
                    times[frame.index] = frame.time
                }
            }
            XCTAssertTrue(wanted.isEmpty, "\(name): frames \(wanted.sorted()) were never decoded")
            let ordered = try ref.frame_indices.map { try XCTUnwrap(images[$0], "\(name) frame \($0)") }
            let features = try model.embed(images: ordered)
            for (i, index) in ref.frame_indices.enumerated() {
                XCTAssertEqual(times[index] ?? -1, ref.frame_times_s[i], accuracy: 1e-6, "\(name) frame \(index) time")
                // Tolerance from the reference README for image pipelines: cosine >= 0.9999.
                XCTAssertGreaterThanOrEqual(ImageTesting.cosine(features[i], ref.efficientnet_lite0_features_1280[i]), 0.9999,
                                            "\(name) frame \(index)")
            }
        }
    }
}
