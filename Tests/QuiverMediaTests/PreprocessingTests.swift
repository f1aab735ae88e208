import Foundation
import QuiverMedia
import QuiverTestSupport
import XCTest

final class PreprocessingTests: XCTestCase {
    /// Image.resize with every filter, down and up, matches Pillow byte for byte (sha256); the torch
    /// backend matches torchvision's resize of uint8 tensors byte for byte.
    func testResizeMatchesPillowAndTorch() throws {
        let reference = try MediaFixtures.reference()
        XCTAssertEqual(reference.resize.count, 49)
        var decoded: [String: RGBImage] = [:]
        for ref in reference.resize {
            let source = try decoded[ref.image] ?? MediaFixtures.decode(ref.image)
            decoded[ref.image] = source
            let filter = try XCTUnwrap(ResampleFilter(rawValue: ref.filter ?? ""))
            let backend = try XCTUnwrap(ResizeBackend(rawValue: ref.backend ?? ""))
            let out = try source.resized(width: ref.width, height: ref.height, filter: filter, backend: backend)
            MediaFixtures.assertMatches(out, ref, what: "\(ref.image) -> \(ref.width)x\(ref.height) \(filter) \(backend)")
        }
    }

    /// Computing only a window of the resized image gives the same bytes as resizing and cropping,
    /// including windows that stick out of the image (zero padding).
    func testResizedWindowEqualsResizeThenCrop() throws {
        let image = try MediaFixtures.decode("coffee.png")
        let cases = ResampleFilter.allCases.map { ($0, ResizeBackend.pillow) } + [(.bilinear, .torch), (.bicubic, .torch)]
        for (filter, backend) in cases {
            for (w, h) in [(300, 200), (300, 400), (97, 61), (600, 41), (1000, 700)] {
                let full = try image.resized(width: w, height: h, filter: filter, backend: backend)
                for (l, t, cw, ch) in [(0, 0, w, h), (w / 3, h / 5, w / 2, h / 2), (w - 7, h - 3, 7, 3), (-5, -4, w + 10, 12)] {
                    let window = try image.resizedWindow(width: w, height: h, filter: filter, backend: backend, left: l, top: t,
                                                         windowWidth: cw, windowHeight: ch)
                    XCTAssertEqual(window, full.cropped(left: l, top: t, width: cw, height: ch),
                                   "\(filter) \(backend) \(w)x\(h) window (\(l),\(t)) \(cw)x\(ch)")
                }
            }
        }
        XCTAssertThrowsError(try image.resized(width: 0, height: 10, filter: .bilinear))
        XCTAssertThrowsError(try image.resized(width: 10, height: 10, filter: .lanczos, backend: .torch)) {
            XCTAssertEqual($0 as? MediaError, .invalidArgument("the torch resize backend supports bilinear and bicubic, not lanczos"))
        }
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

    /// The center-crop rules: torchvision rounds half to even, transformers floors; small images
    /// are padded with zeros (torchvision puts the odd row at the bottom, transformers' PIL backend
    /// at the top).
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
        // transformers' torchvision backend: int(margin / 2) like the PIL backend, padding like torchvision.
        XCTAssertEqual(try crop(.huggingFaceTorchvision, 2, 3), image.cropped(left: 1, top: 0, width: 2, height: 3))
        XCTAssertEqual(try crop(.huggingFaceTorchvision, 4, 4), image.cropped(left: 0, top: 0, width: 4, height: 4))
        XCTAssertEqual(try crop(.huggingFaceTorchvision, 5, 6), image.cropped(left: 0, top: -1, width: 5, height: 6))
        XCTAssertEqual(try crop(.huggingFace, 5, 6), image.cropped(left: 0, top: -2, width: 5, height: 6))
    }

    /// Final float tensors of every pipeline equal the Python ones: sha256 of the float32 CHW
    /// bytes, and (reported on mismatch) per-channel mean/std within 1e-4, samples within 1e-6.
    func testPipelinesMatchPython() throws {
        let reference = try MediaFixtures.reference()
        let configs = TestPaths.reference.appendingPathComponent("models")
        let clip = configs.appendingPathComponent("tiny-random-clip/preprocessor_config.json")
        let resnet = configs.appendingPathComponent("tiny-random-resnet-hf/preprocessor_config.json")
        let vit = MediaFixtures.directory.appendingPathComponent("vit_preprocessor_config.json")
        let pipelines: [String: ImagePreprocessor] = [
            "hf-clip": try ImagePreprocessor(huggingFaceConfig: clip, backend: .pil),
            "hf-resnet": try ImagePreprocessor(huggingFaceConfig: resnet, backend: .pil),
            "hf-vit": try ImagePreprocessor(huggingFaceConfig: vit, backend: .pil),
            "hf-clip-torchvision": try ImagePreprocessor(huggingFaceConfig: clip),
            "hf-resnet-torchvision": try ImagePreprocessor(huggingFaceConfig: resnet),
            "hf-vit-torchvision": try ImagePreprocessor(huggingFaceConfig: vit),
            "torchvision-imagenet": .torchvisionImageNet,
            "efficientnet-lite0": .efficientNetLite0,
        ]
        XCTAssertEqual(reference.pipelines.count, 80)
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

    /// Writing into a batch slice gives the same values as the tensor API; a wrong size is an error.
    func testWritesIntoBatchBuffer() throws {
        let image = try MediaFixtures.decode("chelsea.png")
        let p = ImagePreprocessor.torchvisionImageNet
        let expected = try p(image)
        var batch = [Float](repeating: -1, count: 2 * 3 * 224 * 224)
        let size = try batch.withUnsafeMutableBufferPointer { buffer in
            try p(image, into: UnsafeMutableBufferPointer(rebasing: buffer[(3 * 224 * 224)...]))
        }
        XCTAssertEqual(size, .init(width: 224, height: 224))
        XCTAssertEqual(Array(batch[(3 * 224 * 224)...]), expected.values)
        XCTAssertTrue(batch[..<(3 * 224 * 224)].allSatisfy { $0 == -1 })
        XCTAssertThrowsError(try batch.withUnsafeMutableBufferPointer { try p(image, into: $0) }) {
            XCTAssertEqual($0 as? MediaError,
                           .invalidArgument("destination holds 301056 floats; the 224x224 output needs 150528"))
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

    /// The tiny reference models' pixel means (made with transformers' default torchvision backend,
    /// rounded to 6 decimals): the default config backend matches to 1e-6, the PIL backend
    /// (one resize level off on some pixels) to 1e-4.
    func testTinyModelPixelMeans() throws {
        struct Reference: Decodable { let images: [String]; let pixel_values_mean_per_image: [Double] }
        for model in ["tiny-random-clip", "tiny-random-resnet-hf"] {
            let folder = TestPaths.reference.appendingPathComponent("models/\(model)")
            let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("reference.json")))
            let config = folder.appendingPathComponent("preprocessor_config.json")
            for (backend, tolerance) in [(HuggingFaceImageBackend.torchvision, 1e-6), (.pil, 1e-4)] {
                let p = try ImagePreprocessor(huggingFaceConfig: config, backend: backend)
                for (path, expected) in zip(ref.images, ref.pixel_values_mean_per_image) {
                    let image = try ImageDecoder.decode(contentsOf: TestPaths.reference.appendingPathComponent(path)).image
                    let t = try p(image)
                    let mean = t.values.reduce(0.0) { $0 + Double($1) } / Double(t.values.count)
                    XCTAssertEqual(mean, expected, accuracy: tolerance, "\(model) \(path) \(backend)")
                }
            }
        }
    }

    func testHuggingFaceConfigParsing() throws {
        let folder = TestPaths.reference.appendingPathComponent("models")
        let clip = try ImagePreprocessor(huggingFaceConfig: folder.appendingPathComponent("tiny-random-clip/preprocessor_config.json"),
                                         backend: .pil)
        XCTAssertEqual(clip, .clip)
        let clipTorch = try ImagePreprocessor(huggingFaceConfig: folder.appendingPathComponent("tiny-random-clip/preprocessor_config.json"))
        XCTAssertEqual(clipTorch.resizeBackend, .torch)
        XCTAssertEqual(clipTorch.cropRounding, .huggingFaceTorchvision)
        XCTAssertEqual(clipTorch.arithmetic, .huggingFaceTorchvision)
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

        XCTAssertThrowsError(try ImagePreprocessor(huggingFaceConfig: ["image_processor_type": "CLIPImageProcessor", "resample": 1], path: "cfg.json")) {
            XCTAssertEqual($0 as? MediaError, .invalidPreprocessorConfig(
                path: "cfg.json", field: "resample", reason: "code 1 (lanczos) is only supported with the PIL backend (HuggingFaceImageBackend.pil)"))
        }
        XCTAssertEqual(try ImagePreprocessor(huggingFaceConfig: ["image_processor_type": "CLIPImageProcessor", "resample": 1], backend: .pil).filter,
                       .lanczos)
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
