import Foundation

/// A preprocessed image: float32 values in channel-major order (CHW), ready to be a model input.
public struct ImageTensor: Sendable, Equatable {
    /// `channels * height * width` values; index `(c * height + y) * width + x`.
    public var values: [Float]
    /// Number of channels (3: R, G, B).
    public let channels: Int
    /// Height in pixels.
    public let height: Int
    /// Width in pixels.
    public let width: Int
    /// `[channels, height, width]`.
    public var shape: [Int] { [channels, height, width] }
}

/// The steps that turn an `RGBImage` into a model input, matching the Python pipelines exactly:
/// resize (Pillow filters, antialiased), center crop, rescale and normalize, HWC -> CHW float32.
///
/// Presets: `clip` (Hugging Face CLIPImageProcessor), `torchvisionImageNet`
/// (Resize(256) + CenterCrop(224) + ImageNet mean/std), `efficientNetLite0`; and
/// `init(huggingFaceConfig:)` for `preprocessor_config.json` files (CLIPImageProcessor,
/// ConvNextImageProcessor, ViTImageProcessor and other processors with the same fields).
public struct ImagePreprocessor: Sendable, Equatable {
    /// How the image is resized before cropping.
    public enum Resize: Sendable, Equatable {
        /// No resize.
        case none
        /// Shorter side to `n`, longer side `int(n * long / short)` (truncated) — torchvision
        /// `Resize(n)` and Hugging Face `{"shortest_edge": n}` semantics.
        case shortestEdge(Int)
        /// To exactly `width`x`height` (aspect ratio not kept), as ViTImageProcessor does.
        case exact(width: Int, height: Int)
    }

    /// Which library's center-crop offset rule to follow (they differ when the margin is odd).
    public enum CropRounding: Sendable, Equatable {
        /// torchvision `CenterCrop`: `top = round((h - ch) / 2)` (round half to even); images smaller
        /// than the crop are padded with `(ch - h) // 2` zero rows on top.
        case torchvision
        /// Hugging Face `center_crop` (PIL backend): `top = (h - ch) // 2` (floor), also for padding.
        case huggingFace
        /// Hugging Face torchvision backend: `top = int((h - ch) / 2)` (floor); images smaller than
        /// the crop are padded like torchvision (`(ch - h) // 2` zero rows on top).
        case huggingFaceTorchvision
    }

    /// Which library's float arithmetic to replicate for rescale + normalize (differences are
    /// at most one float32 ulp; replicating them makes outputs bit-identical).
    public enum Arithmetic: Sendable, Equatable {
        /// torchvision `ToTensor` + `Normalize`: `(Float(u) / 255 - mean) / std` in float32.
        case torchvision
        /// Hugging Face PIL backend: `Float(Double(u) * rescaleFactor)`, then `(x - mean) / std` in float32.
        case huggingFace
        /// Hugging Face torchvision backend (rescale fused into normalize):
        /// `(Float(u) - Float(mean) * Float(1 / rescaleFactor)) / (Float(std) * Float(1 / rescaleFactor))` in float32.
        case huggingFaceTorchvision
    }

    /// Crop size in pixels.
    public struct Size: Sendable, Equatable {
        /// Width in pixels.
        public var width: Int
        /// Height in pixels.
        public var height: Int
        /// A size of `width` x `height` pixels.
        public init(width: Int, height: Int) { self.width = width; self.height = height }
    }

    /// The first step: no resize, shorter side to `n`, or an exact size.
    public var resize: Resize
    /// The resampling filter of the resize (Pillow's, antialiased).
    public var filter: ResampleFilter
    /// Whose resize arithmetic to reproduce (Pillow or PyTorch's uint8 path).
    public var resizeBackend: ResizeBackend
    /// Center crop after the resize, or nil for none.
    public var centerCrop: Size?
    /// Which library's rule places the crop when the margin is odd (and pads images smaller than the crop).
    public var cropRounding: CropRounding
    /// Multiplier applied to the 0...255 values (1/255 in all presets), or nil to keep 0...255.
    public var rescaleFactor: Double?
    /// Per-channel mean and standard deviation (R, G, B), or nil to skip normalization.
    public var mean: [Double]?
    /// Per-channel standard deviation (R, G, B) the centered values are divided by, or nil with `mean` to skip normalization.
    public var std: [Double]?
    /// Which library's float32 operation order to reproduce for rescale and normalize, for bit-identical outputs.
    public var arithmetic: Arithmetic

    /// A pipeline from explicit steps; see the properties for each. The presets (``clip``, ``torchvisionImageNet``,
    /// ``efficientNetLite0``) and ``init(huggingFaceConfig:backend:)`` cover the common models. Nothing is validated here;
    /// an impossible step (a resize to an empty image) throws `MediaError.invalidArgument` when the pipeline runs.
    public init(resize: Resize, filter: ResampleFilter, resizeBackend: ResizeBackend = .pillow, centerCrop: Size?,
                cropRounding: CropRounding, rescaleFactor: Double?, mean: [Double]?, std: [Double]?, arithmetic: Arithmetic) {
        self.resize = resize
        self.filter = filter
        self.resizeBackend = resizeBackend
        self.centerCrop = centerCrop
        self.cropRounding = cropRounding
        self.rescaleFactor = rescaleFactor
        self.mean = mean
        self.std = std
        self.arithmetic = arithmetic
    }

    /// ImageNet mean and std (R, G, B).
    public static let imageNetMean = [0.485, 0.456, 0.406]
    /// ImageNet standard deviation (R, G, B), on the 0...1 scale.
    public static let imageNetStd = [0.229, 0.224, 0.225]
    /// OpenAI CLIP mean and std (R, G, B).
    public static let clipMean = [0.48145466, 0.4578275, 0.40821073]
    /// OpenAI CLIP standard deviation (R, G, B), on the 0...1 scale.
    public static let clipStd = [0.26862954, 0.26130258, 0.27577711]

    /// Hugging Face CLIPImageProcessor defaults: shortest edge 224 bicubic, center crop 224,
    /// x/255, CLIP mean/std.
    public static let clip = ImagePreprocessor(
        resize: .shortestEdge(224), filter: .bicubic, centerCrop: Size(width: 224, height: 224), cropRounding: .huggingFace,
        rescaleFactor: 1.0 / 255.0, mean: clipMean, std: clipStd, arithmetic: .huggingFace)

    /// The torchvision ImageNet recipe: `Resize(256)` (bilinear, antialiased), `CenterCrop(224)`,
    /// `ToTensor()`, `Normalize(ImageNet mean, std)`.
    public static let torchvisionImageNet = ImagePreprocessor(
        resize: .shortestEdge(256), filter: .bilinear, centerCrop: Size(width: 224, height: 224), cropRounding: .torchvision,
        rescaleFactor: 1.0 / 255.0, mean: imageNetMean, std: imageNetStd, arithmetic: .torchvision)

    /// EfficientNet-Lite0 (TF-Lite convention): shorter side 256 bilinear, center crop 224,
    /// x/255, mean 127/255, std 128/255 — that is `(u - 127) / 128`.
    public static let efficientNetLite0 = ImagePreprocessor(
        resize: .shortestEdge(256), filter: .bilinear, centerCrop: Size(width: 224, height: 224), cropRounding: .torchvision,
        rescaleFactor: 1.0 / 255.0, mean: [127.0 / 255, 127.0 / 255, 127.0 / 255],
        std: [128.0 / 255, 128.0 / 255, 128.0 / 255], arithmetic: .torchvision)

    /// The size after the resize step for an input of `width`x`height`.
    public func resizedSize(width: Int, height: Int) -> Size {
        switch resize {
        case .none:
            return Size(width: width, height: height)
        case let .exact(w, h):
            return Size(width: w, height: h)
        case let .shortestEdge(n):
            let (short, long) = width <= height ? (width, height) : (height, width)
            // Python: int(n * long / short), a correctly rounded float division then truncation.
            let newLong = Int(Double(n * long) / Double(short))
            return width <= height ? Size(width: n, height: newLong) : Size(width: newLong, height: n)
        }
    }

    /// Top-left corner of the crop window inside an image of `size` (may be negative: padding).
    func cropOrigin(in size: Size, crop: Size) -> (left: Int, top: Int) {
        func offset(_ full: Int, _ part: Int) -> Int {
            switch cropRounding {
            case .huggingFace:
                return Int((Double(full - part) / 2).rounded(.down))
            case .huggingFaceTorchvision:
                if part > full { return -((part - full) / 2) }
                return (full - part) / 2
            case .torchvision:
                if part > full { return -((part - full) / 2) }
                return Int((Double(full - part) / 2).rounded(.toNearestOrEven))
            }
        }
        return (offset(size.width, crop.width), offset(size.height, crop.height))
    }

    /// The 8-bit image after resize and center crop (the step Pillow performs), before any float
    /// conversion. Only the pixels inside the crop are computed.
    public func resizedAndCropped(_ image: RGBImage) throws -> RGBImage {
        let target = resizedSize(width: image.width, height: image.height)
        guard target.width > 0, target.height > 0 else {
            throw MediaError.invalidArgument("resize of a \(image.width)x\(image.height) image gives an empty \(target.width)x\(target.height) image")
        }
        let crop = centerCrop ?? target
        let (left, top) = cropOrigin(in: target, crop: crop)
        if case .none = resize {
            return centerCrop == nil ? image : image.cropped(left: left, top: top, width: crop.width, height: crop.height)
        }
        return try image.resizedWindow(width: target.width, height: target.height, filter: filter, backend: resizeBackend,
                                       left: left, top: top, windowWidth: crop.width, windowHeight: crop.height)
    }

    /// Per channel, the float value of each byte 0...255 after rescale and normalize, computed with
    /// the arithmetic of the library being matched.
    func lookupTables() -> [[Float]] {
        (0..<3).map { c in
            (0..<256).map { u -> Float in
                var x: Float
                switch arithmetic {
                case .torchvision:
                    // ToTensor divides by 255 in float32; other factors multiply.
                    if let r = rescaleFactor {
                        let d = (1 / r).rounded()
                        x = abs(1 / r - d) < 1e-6 ? Float(u) / Float(d) : Float(u) * Float(r)
                    } else {
                        x = Float(u)
                    }
                case .huggingFace:
                    x = rescaleFactor.map { Float(Double(u) * $0) } ?? Float(u)
                case .huggingFaceTorchvision:
                    if let mean, let std {
                        // mean/std tensors (float32) times 1/rescale, then normalize the float32 pixels.
                        let inverse = Float(rescaleFactor.map { 1 / $0 } ?? 1)
                        return (Float(u) - Float(mean[c]) * inverse) / (Float(std[c]) * inverse)
                    }
                    x = rescaleFactor.map { Float(u) * Float($0) } ?? Float(u)
                }
                if let mean, let std {
                    x = (x - Float(mean[c])) / Float(std[c])
                }
                return x
            }
        }
    }

    /// Converts 8-bit RGB to the normalized CHW float32 tensor (no resize or crop).
    public func normalized(_ image: RGBImage) -> ImageTensor {
        let count = 3 * image.width * image.height
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            writeNormalized(image, into: buffer)
            initialized = count
        }
        return ImageTensor(values: values, channels: 3, height: image.height, width: image.width)
    }

    private func writeNormalized(_ image: RGBImage, into out: UnsafeMutableBufferPointer<Float>) {
        let tables = lookupTables()
        let plane = image.width * image.height
        image.pixels.withUnsafeBufferPointer { px in
            for c in 0..<3 {
                tables[c].withUnsafeBufferPointer { lut in
                    let dst = out.baseAddress! + c * plane
                    for i in 0..<plane { dst[i] = lut[Int(px[3 * i + c])] }
                }
            }
        }
    }

    /// Runs the whole pipeline and writes the `[3, H, W]` float32 result into `destination`
    /// (for example one image's slice of an NCHW batch). `destination.count` must be exactly
    /// `3 * H * W` of the output size; returns that size.
    @discardableResult
    public func callAsFunction(_ image: RGBImage, into destination: UnsafeMutableBufferPointer<Float>) throws -> Size {
        let prepared = try resizedAndCropped(image)
        guard destination.count == 3 * prepared.width * prepared.height else {
            throw MediaError.invalidArgument("destination holds \(destination.count) floats; the \(prepared.width)x\(prepared.height) output needs \(3 * prepared.width * prepared.height)")
        }
        writeNormalized(prepared, into: destination)
        return Size(width: prepared.width, height: prepared.height)
    }

    /// Runs the whole pipeline: resize, center crop, rescale, normalize; returns `[3, H, W]` float32.
    public func callAsFunction(_ image: RGBImage) throws -> ImageTensor {
        normalized(try resizedAndCropped(image))
    }
}
