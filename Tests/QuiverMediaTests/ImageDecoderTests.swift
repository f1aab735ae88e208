import Foundation
import QuiverMedia
import QuiverTestSupport
import XCTest

final class ImageDecoderTests: XCTestCase {
    /// Every sample decodes to exactly Pillow's `exif_transpose(open(p)).convert("RGB")`
    /// (tolerance: none — sha256 of the RGB bytes), with Pillow's mode and the EXIF orientation.
    func testDecodedPixelsMatchPillow() throws {
        let reference = try MediaFixtures.reference()
        XCTAssertEqual(reference.decode.count, 32)
        for ref in reference.decode {
            let decoded = try ImageDecoder.decode(contentsOf: MediaFixtures.url(ref.image))
            MediaFixtures.assertMatches(decoded.image, ref, what: ref.image)
            XCTAssertEqual(decoded.sourceMode, ref.mode, "\(ref.image): mode")
            XCTAssertEqual(decoded.format.rawValue.uppercased(), ref.format, "\(ref.image): format")
            XCTAssertEqual(decoded.exifOrientation, ref.orientation, "\(ref.image): orientation")
        }
    }

    func testOrientationCanBeLeftAlone() throws {
        let rotated = try ImageDecoder.decode(contentsOf: MediaFixtures.url("orient6.jpg"))
        let raw = try ImageDecoder.decode(contentsOf: MediaFixtures.url("orient6.jpg"),
                                          options: ImageDecodeOptions(applyEXIFOrientation: false))
        XCTAssertEqual(rotated.exifOrientation, 6)
        XCTAssertEqual([raw.image.width, raw.image.height], [40, 24])
        XCTAssertEqual([rotated.image.width, rotated.image.height], [24, 40])
        XCTAssertEqual(raw.image.applyingOrientation(6), rotated.image)
        // Orientation 1 (and unknown values) leave the image unchanged.
        XCTAssertEqual(raw.image.applyingOrientation(1), raw.image)
        XCTAssertEqual(raw.image.applyingOrientation(9), raw.image)
    }

    func testAlphaAndModesAreReported() throws {
        let cases: [(String, Bool, Int)] = [("rgba16.png", true, 16), ("palette8_trns.png", true, 8), ("rgb16.png", false, 16),
                                            ("alpha.webp", true, 8), ("lossy.webp", false, 8), ("two_frames.gif", true, 8),
                                            ("gray2.png", false, 2), ("cmyk.jpg", false, 8), ("ycck.jpg", false, 8)]
        for (name, alpha, depth) in cases {
            let d = try ImageDecoder.decode(contentsOf: MediaFixtures.url(name))
            XCTAssertEqual(d.hadAlpha, alpha, name)
            XCTAssertEqual(d.bitDepth, depth, name)
        }
    }

    /// The format comes from the bytes: a PNG named .jpg still decodes as PNG.
    func testFormatIsDetectedFromContent() throws {
        let data = try Data(contentsOf: MediaFixtures.url("palette8_trns.png"))
        let misnamed = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-media-\(UUID()).jpg")
        try data.write(to: misnamed)
        defer { try? FileManager.default.removeItem(at: misnamed) }
        let decoded = try ImageDecoder.decode(contentsOf: misnamed)
        XCTAssertEqual(decoded.format, .png)
        XCTAssertEqual(decoded.image, try MediaFixtures.decode("palette8_trns.png"))
        XCTAssertEqual(ImageDecoder.detectFormat(Array("GIF89a".utf8)), .gif)
        XCTAssertEqual(ImageDecoder.detectFormat([0xFF, 0xD8, 0xFF, 0xE0]), .jpeg)
        XCTAssertNil(ImageDecoder.detectFormat(Array("RIFF\0\0\0\0WAVE".utf8)))
    }

    func testUnknownFormatAndMissingFileAreClearErrors() throws {
        XCTAssertThrowsError(try ImageDecoder.decode(data: Data("hello world".utf8), name: "notes.png")) { error in
            XCTAssertEqual(error as? MediaError, .unknownImageFormat(path: "notes.png", leadingBytes: "68 65 6c 6c 6f 20 77 6f"))
            XCTAssertTrue("\(error)".contains("notes.png"))
        }
        XCTAssertThrowsError(try ImageDecoder.decode(data: Data(), name: "empty.jpg")) { error in
            XCTAssertEqual(error as? MediaError, .unknownImageFormat(path: "empty.jpg", leadingBytes: "empty file"))
        }
        let missing = URL(fileURLWithPath: "/nonexistent/quiver/cat.png")
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: missing)) { error in
            guard case let .unreadableFile(path, _)? = error as? MediaError else { return XCTFail("got \(error)") }
            XCTAssertEqual(path, missing.path)
        }
    }

    func testPixelLimitIsEnforcedBeforeDecoding() throws {
        for name in ["astronaut.png", "rocket.jpg", "lossy.webp", "two_frames.gif"] {
            let url = MediaFixtures.url(name)
            XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url, options: ImageDecodeOptions(maxPixels: 1000))) { error in
                guard case let .imageTooLarge(path, w, h, limit)? = error as? MediaError else { return XCTFail("\(name): got \(error)") }
                XCTAssertEqual(path, url.path)
                XCTAssertGreaterThan(w * h, 1000, name)
                XCTAssertEqual(limit, 1000)
                XCTAssertTrue("\(error)".contains("above the limit of 1000 pixels"), "\(error)")
            }
        }
    }

    /// Truncated copies of every format are errors naming the file; never a crash.
    func testTruncatedFilesAreErrors() throws {
        for name in ["rocket.jpg", "progressive.jpg", "cmyk.jpg", "ycck.jpg", "chelsea.png", "rgb16.png", "palette4_trns.png",
                     "lossy.webp", "lossless.webp", "alpha.webp", "two_frames.gif"] {
            let data = try Data(contentsOf: MediaFixtures.url(name))
            // The GIF's first frame ends near the middle of the file; cuts after it are tested below.
            for fraction in name.hasSuffix(".gif") ? [0.02, 0.2, 0.4] : [0.02, 0.3, 0.6, 0.97] {
                let cut = data.prefix(max(12, Int(Double(data.count) * fraction)))
                let label = "\(name)[..<\(cut.count)]"
                XCTAssertThrowsError(try ImageDecoder.decode(data: Data(cut), name: label), label) { error in
                    guard let media = error as? MediaError else { return XCTFail("\(label): \(error)") }
                    switch media {
                    case let .corruptImage(path, _, reason):
                        XCTAssertEqual(path, label)
                        XCTAssertFalse(reason.isEmpty)
                    default:
                        XCTFail("\(label): unexpected \(media)")
                    }
                    XCTAssertTrue("\(media)".contains(label))
                }
            }
        }
    }

    /// Like Pillow, only the first GIF frame is read: a file cut inside a later frame still gives it.
    func testGIFCutAfterTheFirstFrameStillDecodes() throws {
        let data = try Data(contentsOf: MediaFixtures.url("two_frames.gif"))
        let full = try ImageDecoder.decode(data: data).image
        let cut = try ImageDecoder.decode(data: data.prefix(data.count * 97 / 100), name: "cut.gif").image
        XCTAssertEqual(cut, full)
    }

    /// Bit-flipped copies either decode to an image of a sane size or fail with a corrupt-image
    /// error: the codecs' error paths never take the process down.
    func testBitFlippedFilesNeverCrash() throws {
        var generator = SeededRandom(seed: 42)
        var failures = 0, decoded = 0
        for name in ["rocket.jpg", "cmyk.jpg", "progressive.jpg", "camera.png", "palette8_trns.png", "rgba16.png",
                     "lossy.webp", "lossless.webp", "two_frames.gif", "gray1.png"] {
            let original = [UInt8](try Data(contentsOf: MediaFixtures.url(name)))
            for trial in 0..<25 {
                var bytes = original
                for _ in 0..<(1 + trial % 8) {
                    let position = Int(generator.next() % UInt64(bytes.count - 8)) + 8  // keep the signature
                    bytes[position] ^= UInt8(1 << (generator.next() % 8))
                }
                do {
                    let d = try ImageDecoder.decode(data: Data(bytes), name: "\(name)#\(trial)")
                    XCTAssertEqual(d.image.pixels.count, d.image.width * d.image.height * 3)
                    decoded += 1
                } catch let error as MediaError {
                    XCTAssertTrue("\(error)".contains("\(name)#\(trial)"), "\(error)")
                    failures += 1
                }
            }
        }
        XCTAssertEqual(failures + decoded, 250)
        XCTAssertGreaterThan(failures, 0, "no corruption was detected at all")
    }

    func testRGBImageFromStridedBuffer() throws {
        // Two rows of 2 pixels with 2 bytes of padding per row, as FFmpeg frames have.
        let buffer: [UInt8] = [1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0]
        let image = try buffer.withUnsafeBytes { try RGBImage(width: 2, height: 2, copying: $0.baseAddress!, rowStride: 8) }
        XCTAssertEqual(image.pixels, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertThrowsError(try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]))
    }
}
