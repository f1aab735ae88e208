import Foundation
import QuiverMedia
import QuiverTestSupport
import XCTest

/// Tests/Fixtures/media/image_reference.json, written by scripts/fixtures/make_media_fixtures.py
/// with Pillow / torchvision / transformers (PIL backend).
struct ImageReference: Decodable {
    struct U8: Decodable {
        let image: String
        let width: Int
        let height: Int
        let sha256: String
        let channel_sums: [Int]
        /// [x, y, r, g, b]
        let samples: [[Int]]
        let mode: String?
        let format: String?
        let orientation: Int?
        let filter: String?
        let backend: String?
    }
    struct FloatTensor: Decodable {
        let image: String
        let pipeline: String
        let shape: [Int]
        let sha256: String
        let channel_mean: [Double]
        let channel_std: [Double]
        let sample_indices: [Int]
        let sample_values: [Float]
    }
    let decode: [U8]
    let resize: [U8]
    let pipelines: [FloatTensor]
}

enum MediaFixtures {
    static let directory = TestPaths.fixtures.appendingPathComponent("media")

    static func reference() throws -> ImageReference {
        try JSONDecoder().decode(ImageReference.self, from: Data(contentsOf: directory.appendingPathComponent("image_reference.json")))
    }

    /// A sample image: the ones the fixture script made, else Tests/Fixtures/reference/media.
    static func url(_ name: String) -> URL {
        let own = directory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: own.path) { return own }
        return TestPaths.reference.appendingPathComponent("media").appendingPathComponent(name)
    }

    static func decode(_ name: String) throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: url(name)).image
    }

    static func channelSums(_ image: RGBImage) -> [Int] {
        var sums = [0, 0, 0]
        for i in 0..<(image.width * image.height) {
            for c in 0..<3 { sums[c] += Int(image.pixels[3 * i + c]) }
        }
        return sums
    }

    /// Compares an 8-bit image with a Pillow record: size, then exact hash, else the largest
    /// difference over the recorded samples and channel sums (reported in the failure).
    static func assertMatches(_ image: RGBImage, _ ref: ImageReference.U8, what: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(image.width, ref.width, "\(what): width", file: file, line: line)
        XCTAssertEqual(image.height, ref.height, "\(what): height", file: file, line: line)
        guard image.width == ref.width, image.height == ref.height else { return }
        let hash = SHA256.hex(image.pixels)
        if hash == ref.sha256 { return }
        var worst = 0
        for s in ref.samples {
            let p = image[s[0], s[1]]
            worst = max(worst, abs(Int(p.r) - s[2]), abs(Int(p.g) - s[3]), abs(Int(p.b) - s[4]))
        }
        XCTFail("\(what): pixels differ from Pillow (sha256 \(hash) != \(ref.sha256)); largest sampled difference \(worst) levels, channel sums \(channelSums(image)) vs \(ref.channel_sums)",
                file: file, line: line)
    }
}
