import Foundation
import QuiverMedia
import QuiverTestSupport
import XCTest

final class PreprocessingTests: XCTestCase {
    /// Image.resize with every filter, down and up, matches Pillow byte for byte (sha256).
    func testResizeMatchesPillow() throws {
        let reference = try MediaFixtures.reference()
        XCTAssertEqual(reference.resize.count, 26)
        var decoded: [String: RGBImage] = [:]
        for ref in reference.resize {
            let source = try decoded[ref.image] ?? MediaFixtures.decode(ref.image)
            decoded[ref.image] = source
            let filter = try XCTUnwrap(ResampleFilter(rawValue: ref.filter ?? ""))
            let out = try source.resized(width: ref.width, height: ref.height, filter: filter)
            MediaFixtures.assertMatches(out, ref, what: "\(ref.image) -> \(ref.width)x\(ref.height) \(filter)")
        }
    }

    /// Computing only a window of the resized image gives the same bytes as resizing and cropping,
    /// including windows that stick out of the image (zero padding).
    func testResizedWindowEqualsResizeThenCrop() throws {
        let image = try MediaFixtures.decode("coffee.png")
        for filter in ResampleFilter.allCases {
            for (w, h) in [(300, 200), (300, 400), (97, 61), (600, 41), (1000, 700)] {
                let full = try image.resized(width: w, height: h, filter: filter)
                for (l, t, cw, ch) in [(0, 0, w, h), (w / 3, h / 5, w / 2, h / 2), (w - 7, h - 3, 7, 3), (-5, -4, w + 10, 12)] {
                    let window = try image.resizedWindow(width: w, height: h, filter: filter, left: l, top: t,
                                                         windowWidth: cw, windowHeight: ch)
                    XCTAssertEqual(window, full.cropped(left: l, top: t, width: cw, height: ch),
                                   "\(filter) \(w)x\(h) window (\(l),\(t)) \(cw)x\(ch)")
                }
            }
        }
        XCTAssertThrowsError(try image.resized(width: 0, height: 10, filter: .bilinear))
    }

    func testResizeRulesFollowTorchvisionAndTransformers() {
        let p = ImagePreprocessor.torchvisionImageNet
        // int(256 * long / short), truncated.
        XCTAssertEqual(p.resizedSize(width: 451, height: 300), .init(width: 384, height: 256))
        XCTAssertEqual(p.resizedSize(width: 300, height: 451), .init(width: 256, height: 384))
        XCTAssertEqual(p.resizedSize(width: 640, height: 427), .init(width: 383, height: 256))
        XCTAssertEqual(p.resizedSize(width: 100, height: 100), .init(width: 256, height: 256))
        // ViT: fixed size.
        var vit = p
        vit.resize = .exact(width: 224, height: 160)
        XCTAssertEqual(vit.resizedSize(width: 640, height: 427), .init(width: 224, height: 160))
    }

    /// The two center-crop rules: torchvision rounds half to even, transformers floors; small images
    /// are padded with zeros (torchvision puts the odd row at the bottom, transformers at the top).
    func testCenterCropRounding() throws {
        let pixels = (0..<(5 * 3 * 3)).map { UInt8($0) }
        let image = try RGBImage(width: 5, height: 3, pixels: pixels)
        func crop(_ rounding: ImagePreprocessor.CropRounding, _ w: Int, _ h: Int) throws -> RGBImage {
            let p = ImagePreprocessor(resize: .none, filter: .bilinear, centerCrop: .init(width: w, height: h),
                                      cropRounding: rounding, rescaleFactor: nil, mean: nil, std: nil, arithmetic: .torchvision)
            return try p.resizedAndCropped(image)
        }
        // Margin 5 - 2 = 3: torchvision round(1.5) = 2, transformers 3 // 2 = 1.
        XCTAssertEqual(try crop(.torchvision, 2, 3), image.cropped(left: 2, top: 0, width: 2, height: 3))
        XCTAssertEqual(try crop(.huggingFace, 2, 3), image.cropped(left: 1, top: 0, width: 2, height: 3))
        // Margin 5 - 4 = 1 and padding 4 - 3 = 1 row: torchvision round(0.5) = 0, pad 0 rows on top;
        // transformers 1 // 2 = 0, pads ceil(1 / 2) = 1 row on top.
        XCTAssertEqual(try crop(.torchvision, 4, 4), image.cropped(left: 0, top: 0, width: 4, height: 4))
        XCTAssertEqual(try crop(.huggingFace, 4, 4), image.cropped(left: 0, top: -1, width: 4, height: 4))
    }

    /// Final float tensors of every pipeline equal the Python ones: sha256 of the float32 CHW
    /// bytes, and (reported on mismatch) per-channel mean/std within 1e-4, samples within 1e-6.
    func testPipelinesMatchPython() throws {
        let reference = try MediaFixtures.reference()
        let configs = TestPaths.reference.appendingPathComponent("models")
        let pipelines: [String: ImagePreprocessor] = [
            "hf-clip": try ImagePreprocessor(huggingFaceConfig: configs.appendingPathComponent("tiny-random-clip/preprocessor_config.json")),
            "hf-resnet": try ImagePreprocessor(huggingFaceConfig: configs.appendingPathComponent("tiny-random-resnet-hf/preprocessor_config.json")),
            "hf-vit": try ImagePreprocessor(huggingFaceConfig: MediaFixtures.directory.appendingPathComponent("vit_preprocessor_config.json")),
            "torchvision-imagenet": .torchvisionImageNet,
            "efficientnet-lite0": .efficientNetLite0,
        ]
        XCTAssertEqual(reference.pipelines.count, 50)
        var images: [String: RGBImage] = [:]
        for ref in reference.pipelines {
            let image = try images[ref.image] ?? MediaFixtures.decode(ref.image)
            images[ref.image] = image
            let p = try XCTUnwrap(pipelines[ref.pipeline], ref.pipeline)
            let tensor = try p(image)
            let what = "\(ref.pipeline) \(ref.image)"
            XCTAssertEqual(tensor.shape, ref.shape, what)
            guard tensor.shape == ref.shape else { continue }
            let stats = Self.channelStats(tensor)
            for c in 0..<3 {
                XCTAssertEqual(stats.mean[c], ref.channel_mean[c], accuracy: 1e-4, "\(what) channel \(c) mean")
                XCTAssertEqual(stats.std[c], ref.channel_std[c], accuracy: 1e-4, "\(what) channel \(c) std")
            }
            var worst: Float = 0
            for (i, v) in zip(ref.sample_indices, ref.sample_values) { worst = max(worst, abs(tensor.values[i] - v)) }
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(what): sampled values")
            XCTAssertEqual(SHA256.hex(tensor.values), ref.sha256, "\(what): float32 bytes differ (worst sampled difference \(worst))")
        }
    }

    /// EfficientNet-Lite0's reference input statistics (Tests/Fixtures/reference/image).
    func testEfficientNetLite0InputStats() throws {
        struct Stats: Decodable { let mean: Double; let std: Double; let corner_3x3_channel0: [[Float]] }
        struct Reference: Decodable { let images: [String]; let input_stats: [Stats] }
        let ref: Reference = try TestPaths.referenceJSON("image/efficientnet-lite0.json")
        XCTAssertEqual(ref.images.count, 6)
        for (path, stats) in zip(ref.images, ref.input_stats) {
            let image = try ImageDecoder.decode(contentsOf: TestPaths.reference.appendingPathComponent(path)).image
            let t = try ImagePreprocessor.efficientNetLite0(image)
            XCTAssertEqual(t.shape, [3, 224, 224])
            let all = t.values.map(Double.init)
            let mean = all.reduce(0, +) / Double(all.count)
            let std = (all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(all.count)).squareRoot()
            XCTAssertEqual(mean, stats.mean, accuracy: 1e-5, path)
            XCTAssertEqual(std, stats.std, accuracy: 1e-5, path)
            for y in 0..<3 {
                for x in 0..<3 {
                    XCTAssertEqual(t.values[y * 224 + x], stats.corner_3x3_channel0[y][x], accuracy: 1e-6, "\(path) (\(x), \(y))")
                }
            }
        }
    }

    /// The tiny reference models' pixel means. Those references were made with transformers'
    /// default (torchvision tensor) backend, whose uint8 antialiased resize differs from Pillow by
    /// at most one level on some pixels, so the means agree to 1e-4 rather than exactly.
    func testTinyModelPixelMeans() throws {
        struct Reference: Decodable { let images: [String]; let pixel_values_mean_per_image: [Double] }
        for model in ["tiny-random-clip", "tiny-random-resnet-hf"] {
            let folder = TestPaths.reference.appendingPathComponent("models/\(model)")
            let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("reference.json")))
            let p = try ImagePreprocessor(huggingFaceConfig: folder.appendingPathComponent("preprocessor_config.json"))
            for (path, expected) in zip(ref.images, ref.pixel_values_mean_per_image) {
                let image = try ImageDecoder.decode(contentsOf: TestPaths.reference.appendingPathComponent(path)).image
                let t = try p(image)
                let mean = t.values.reduce(0.0) { $0 + Double($1) } / Double(t.values.count)
                XCTAssertEqual(mean, expected, accuracy: 1e-4, "\(model) \(path)")
            }
        }
    }

    func testHuggingFaceConfigParsing() throws {
        let folder = TestPaths.reference.appendingPathComponent("models")
        let clip = try ImagePreprocessor(huggingFaceConfig: folder.appendingPathComponent("tiny-random-clip/preprocessor_config.json"))
        XCTAssertEqual(clip, .clip)
        let resnet = try ImagePreprocessor(huggingFaceConfig: folder.appendingPathComponent("tiny-random-resnet-hf/preprocessor_config.json"))
        XCTAssertEqual(resnet.resize, .shortestEdge(256))
        XCTAssertEqual(resnet.centerCrop, .init(width: 224, height: 224))
        XCTAssertEqual(resnet.filter, .bilinear)
        XCTAssertEqual(resnet.mean, ImagePreprocessor.imageNetMean)
        // ConvNext at 384 and above warps to a square without cropping.
        let big = try ImagePreprocessor(huggingFaceConfig: ["image_processor_type": "ConvNextImageProcessor", "size": ["shortest_edge": 384]])
        XCTAssertEqual(big.resize, .exact(width: 384, height: 384))
        XCTAssertNil(big.centerCrop)
        XCTAssertEqual(big.filter, .bicubic)
        XCTAssertEqual(big.mean, [0.5, 0.5, 0.5])
        // Legacy integer sizes.
        let legacy = try ImagePreprocessor(huggingFaceConfig: ["image_processor_type": "CLIPImageProcessor", "size": 336, "crop_size": 336])
        XCTAssertEqual(legacy.resize, .shortestEdge(336))
        XCTAssertEqual(legacy.centerCrop, .init(width: 336, height: 336))
        let vit = try ImagePreprocessor(huggingFaceConfig: ["image_processor_type": "ViTImageProcessorFast", "size": 384])
        XCTAssertEqual(vit.resize, .exact(width: 384, height: 384))

        XCTAssertThrowsError(try ImagePreprocessor(huggingFaceConfig: ["image_processor_type": "CLIPImageProcessor", "resample": 0], path: "cfg.json")) {
            XCTAssertEqual($0 as? MediaError, .invalidPreprocessorConfig(
                path: "cfg.json", field: "resample",
                reason: "Pillow resample code 0 is not supported (use 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX or 5 HAMMING)"))
        }
        XCTAssertThrowsError(try ImagePreprocessor(huggingFaceConfig: ["image_processor_type": "CLIPImageProcessor", "image_mean": [0.5, 0.5]], path: "cfg.json")) {
            guard case let .invalidPreprocessorConfig(_, field, _)? = $0 as? MediaError else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "image_mean")
        }
        XCTAssertThrowsError(try ImagePreprocessor(huggingFaceConfig: ["do_resize": true, "size": ["longest_edge": 5]], path: "cfg.json")) {
            guard case let .invalidPreprocessorConfig(_, field, _)? = $0 as? MediaError else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "size")
        }
        let missing = URL(fileURLWithPath: "/nonexistent/preprocessor_config.json")
        XCTAssertThrowsError(try ImagePreprocessor(huggingFaceConfig: missing)) {
            guard case let .invalidPreprocessorConfig(path, _, _)? = $0 as? MediaError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, missing.path)
        }
    }

    static func channelStats(_ t: ImageTensor) -> (mean: [Double], std: [Double]) {
        let plane = t.height * t.width
        var means = [Double](), stds = [Double]()
        for c in 0..<t.channels {
            let values = t.values[(c * plane)..<((c + 1) * plane)].map(Double.init)
            let mean = values.reduce(0, +) / Double(plane)
            means.append(mean)
            stds.append((values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(plane)).squareRoot())
        }
        return (means, stds)
    }
}
