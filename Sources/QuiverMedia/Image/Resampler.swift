import CQuiverImage
import Foundation

/// Pillow's convolution resampling filters (`Image.Resampling`), with their Pillow codes.
/// All of them are antialiased: when shrinking, the filter support grows with the reduction
/// factor, exactly as `PIL.Image.resize` (and so torchvision's `Resize` on PIL images and the
/// Hugging Face PIL image processors) does. The cases are Pillow's `BOX`, `BILINEAR` (triangle), `HAMMING`,
/// `BICUBIC` (a = -0.5) and `LANCZOS` (3 lobes).
public enum ResampleFilter: String, Sendable, Equatable, CaseIterable {
    case box, bilinear, hamming, bicubic, lanczos

    /// The filter of a Pillow resample code (1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING)
    /// as found in `preprocessor_config.json` (`"resample": 3`). NEAREST (0) is not supported.
    public init?(pillowCode: Int) {
        switch pillowCode {
        case 1: self = .lanczos
        case 2: self = .bilinear
        case 3: self = .bicubic
        case 4: self = .box
        case 5: self = .hamming
        default: return nil
        }
    }

    /// Half-width of the filter kernel at scale 1, in source pixels.
    var support: Double {
        switch self {
        case .box: return 0.5
        case .bilinear, .hamming: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    /// PyTorch's antialias filter (`HelperInterpLinear/HelperInterpCubic::aa_filter`): the same
    /// functions, with the outer cubic lobe evaluated in PyTorch's order.
    func torchWeight(_ x: Double) -> Double {
        guard self == .bicubic else { return weight(x) }
        let a = abs(x), c = -0.5
        if a < 1 { return ((c + 2) * a - (c + 3)) * a * a + 1 }
        if a < 2 { return ((c * a - 5 * c) * a + 8 * c) * a - 4 * c }
        return 0
    }

    func weight(_ x: Double) -> Double {
        switch self {
        case .box:
            return x > -0.5 && x <= 0.5 ? 1 : 0
        case .bilinear:
            let a = abs(x)
            return a < 1 ? 1 - a : 0
        case .hamming:
            let a = abs(x)
            if a == 0 { return 1 }
            if a >= 1 { return 0 }
            let p = a * Double.pi
            return sin(p) / p * (Double(Float(0.54)) + Double(Float(0.46)) * cos(p))
        case .bicubic:
            let a = abs(x), c = -0.5
            if a < 1 { return ((c + 2) * a - (c + 3)) * a * a + 1 }
            if a < 2 { return (((a - 5) * a + 8) * a - 4) * c }
            return 0
        case .lanczos:
            guard x >= -3 && x < 3 else { return 0 }
            func sinc(_ v: Double) -> Double {
                if v == 0 { return 1 }
                let p = v * Double.pi
                return sin(p) / p
            }
            return sinc(x) * sinc(x / 3)
        }
    }
}

/// Whose 8-bit resize arithmetic to reproduce. Both use the same antialiased filters, support and
/// centering; they differ in fixed-point precision and pass order, which moves some pixels by
/// one level.
public enum ResizeBackend: String, Sendable, Equatable, CaseIterable {
    /// Pillow's `Image.resize` (torchvision transforms on PIL images, transformers' PIL image
    /// processors): 22-bit coefficients; Pillow 13 pass order.
    case pillow
    /// PyTorch's uint8 antialiased `interpolate` as `torchvision.transforms.v2.functional.resize`
    /// calls it on uint8 tensors (transformers' default torchvision image processors): int16
    /// weights at the largest precision the axis allows, horizontal pass first. Bilinear and
    /// bicubic only. (For bilinear, torchvision takes this path on CPUs with AVX2 or on arm64;
    /// elsewhere it resizes in float32.)
    case torch
}

/// Fixed-point coefficients of one axis of a resize, for a contiguous range of output indices.
/// Mirrors Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`, or PyTorch's
/// `_compute_index_ranges_int16_weights` for the torch backend.
struct ResampleAxis {
    /// Taps per output sample (the stride of `coefficients`).
    let ksize: Int
    /// Per output index: first source index, number of taps.
    var bounds: [Int32]
    /// `ksize` fixed-point weights per output index.
    let coefficients: [Int32]
    /// Fractional bits of `coefficients`.
    let precision: Int32

    init(inSize: Int, outSize: Int, filter: ResampleFilter, outputs: Range<Int>, backend: ResizeBackend = .pillow) {
        let scale = Double(Float(inSize)) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var bounds = [Int32](repeating: 0, count: outputs.count * 2)
        var normalized = [Double](repeating: 0, count: outputs.count * ksize)
        var weights = [Double](repeating: 0, count: ksize)
        let ss = 1.0 / filterScale
        var maxWeight = 0.0
        for (slot, xx) in outputs.enumerated() {
            let center = (Double(xx) + 0.5) * scale
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            if backend == .torch { xmax = min(max(xmax, 0), ksize) }
            var ww = 0.0
            for x in 0..<xmax {
                let w = backend == .torch ? filter.torchWeight((Double(x + xmin) - center + 0.5) * ss)
                                          : filter.weight((Double(x + xmin) - center + 0.5) * ss)
                weights[x] = w
                ww += w
            }
            for x in 0..<xmax {
                let k = ww != 0 ? weights[x] / ww : weights[x]
                normalized[slot * ksize + x] = k
                if ww != 0 { maxWeight = max(maxWeight, k) }
            }
            bounds[slot * 2] = Int32(xmin)
            bounds[slot * 2 + 1] = Int32(xmax)
        }
        var precision = Int32(QIM_PRECISION_BITS)
        if backend == .torch {
            // PyTorch: the largest precision (< 22) at which the largest weight fits in int16.
            // Note the weights of the whole output range of the axis set it, so compute them all.
            let all = outputs.count == outSize ? maxWeight
                : ResampleAxis(inSize: inSize, outSize: outSize, filter: filter, outputs: 0..<outSize, backend: .torch).maxWeight
            var p: Int32 = 0
            while p < 22 {
                if Int(0.5 + all * Double(Int(1) << (p + 1))) >= (1 << 15) { break }
                p += 1
            }
            precision = p
        }
        let one = Double(Int(1) << precision)
        self.coefficients = normalized.map { k in k < 0 ? Int32(-0.5 + k * one) : Int32(0.5 + k * one) }
        self.ksize = ksize
        self.bounds = bounds
        self.precision = precision
        self.maxWeight = maxWeight
    }

    /// Largest normalized weight of the computed outputs (PyTorch's precision rule uses it).
    let maxWeight: Double

    /// First source index used and one past the last one.
    var sourceRange: Range<Int> {
        guard !bounds.isEmpty else { return 0..<0 }
        let n = bounds.count / 2
        return Int(bounds[0])..<Int(bounds[2 * n - 2] + bounds[2 * n - 1])
    }
}

extension RGBImage {
    /// Resizes to `width`x`height` exactly as Pillow's `Image.resize((width, height), filter)` does
    /// on an RGB image: two separable passes with 22-bit fixed-point coefficients, rounding and
    /// clipping to 8 bits after each pass, in Pillow 13's order (horizontal first, unless the
    /// height shrinks by more than twice as many pixels as the width). Byte-identical to Pillow 13;
    /// older Pillow always ran the horizontal pass first, which differs by at most one level in
    /// the vertical-first cases.
    public func resized(width: Int, height: Int, filter: ResampleFilter, backend: ResizeBackend = .pillow) throws -> RGBImage {
        try resizedWindow(width: width, height: height, filter: filter, backend: backend,
                          left: 0, top: 0, windowWidth: width, windowHeight: height)
    }

    /// The `windowWidth`x`windowHeight` window at (`left`, `top`) of the image resized to
    /// `width`x`height` (parts outside the resized image are zero). Only the pixels in the window
    /// are computed; they are identical to resizing fully and cropping.
    public func resizedWindow(width outW: Int, height outH: Int, filter: ResampleFilter, backend: ResizeBackend = .pillow,
                              left: Int, top: Int, windowWidth: Int, windowHeight: Int) throws -> RGBImage {
        guard outW > 0, outH > 0, windowWidth > 0, windowHeight > 0 else {
            throw MediaError.invalidArgument("resize target \(outW)x\(outH), window \(windowWidth)x\(windowHeight) must be positive")
        }
        guard backend == .pillow || filter == .bilinear || filter == .bicubic else {
            throw MediaError.invalidArgument("the torch resize backend supports bilinear and bicubic, not \(filter.rawValue)")
        }
        // A window that leaves the resized image: compute the overlap, then pad.
        let x0 = max(left, 0), x1 = min(left + windowWidth, outW)
        let y0 = max(top, 0), y1 = min(top + windowHeight, outH)
        if x0 != left || y0 != top || x1 != left + windowWidth || y1 != top + windowHeight {
            guard x0 < x1, y0 < y1 else {
                return RGBImage(uncheckedWidth: windowWidth, height: windowHeight,
                                pixels: [UInt8](repeating: 0, count: windowWidth * windowHeight * 3))
            }
            let inner = try resizedWindow(width: outW, height: outH, filter: filter, backend: backend, left: x0, top: y0,
                                          windowWidth: x1 - x0, windowHeight: y1 - y0)
            return inner.cropped(left: left - x0, top: top - y0, width: windowWidth, height: windowHeight)
        }
        let needHorizontal = outW != width
        let needVertical = outH != height
        if !needHorizontal && !needVertical {
            return cropped(left: left, top: top, width: windowWidth, height: windowHeight)
        }
        let cols = left..<(left + windowWidth), rows = top..<(top + windowHeight)
        let rowBytes = windowWidth * 3
        var output = [UInt8](repeating: 0, count: rowBytes * windowHeight)

        // Pillow >= 13 runs the vertical pass first when the height shrinks by more than twice as
        // many pixels as the width (python-pillow/Pillow#9549); the order changes the rounding.
        // PyTorch always runs the horizontal pass first.
        let verticalFirst = backend == .pillow && needHorizontal && needVertical && outH < height
            && (height - outH) > 2 * (width - outW)
        if verticalFirst {
            var horizontal = ResampleAxis(inSize: width, outSize: outW, filter: filter, outputs: cols, backend: backend)
            let vertical = ResampleAxis(inSize: height, outSize: outH, filter: filter, outputs: rows, backend: backend)
            let sourceCols = horizontal.sourceRange
            let first = Int32(sourceCols.lowerBound)
            for i in stride(from: 0, to: horizontal.bounds.count, by: 2) { horizontal.bounds[i] -= first }
            let tempRowBytes = sourceCols.count * 3
            var temp = [UInt8](repeating: 0, count: tempRowBytes * windowHeight)
            pixels.withUnsafeBufferPointer { src in
                Self.vertical(source: src.baseAddress! + sourceCols.lowerBound * 3, sourceStride: width * 3, axis: vertical,
                              rowBytes: tempRowBytes, into: &temp)
            }
            temp.withUnsafeBufferPointer { t in
                Self.horizontal(source: t.baseAddress!, sourceStride: tempRowBytes, rows: windowHeight, axis: horizontal,
                                into: &output, outputStride: rowBytes)
            }
        } else if needHorizontal {
            let horizontal = ResampleAxis(inSize: width, outSize: outW, filter: filter, outputs: cols, backend: backend)
            var vertical = needVertical ? ResampleAxis(inSize: height, outSize: outH, filter: filter, outputs: rows, backend: backend) : nil
            let sourceRows = vertical?.sourceRange ?? rows
            if var v = vertical {
                let first = Int32(sourceRows.lowerBound)
                for i in stride(from: 0, to: v.bounds.count, by: 2) { v.bounds[i] -= first }
                vertical = v
            }
            if let v = vertical {
                var temp = [UInt8](repeating: 0, count: rowBytes * sourceRows.count)
                pixels.withUnsafeBufferPointer { src in
                    Self.horizontal(source: src.baseAddress! + sourceRows.lowerBound * width * 3, sourceStride: width * 3,
                                    rows: sourceRows.count, axis: horizontal, into: &temp, outputStride: rowBytes)
                }
                temp.withUnsafeBufferPointer { t in
                    Self.vertical(source: t.baseAddress!, sourceStride: rowBytes, axis: v, rowBytes: rowBytes, into: &output)
                }
            } else {
                pixels.withUnsafeBufferPointer { src in
                    Self.horizontal(source: src.baseAddress! + sourceRows.lowerBound * width * 3, sourceStride: width * 3,
                                    rows: sourceRows.count, axis: horizontal, into: &output, outputStride: rowBytes)
                }
            }
        } else {
            let v = ResampleAxis(inSize: height, outSize: outH, filter: filter, outputs: rows, backend: backend)
            pixels.withUnsafeBufferPointer { src in
                Self.vertical(source: src.baseAddress! + left * 3, sourceStride: width * 3, axis: v, rowBytes: rowBytes,
                              into: &output)
            }
        }
        return RGBImage(uncheckedWidth: windowWidth, height: windowHeight, pixels: output)
    }

    private static func horizontal(source: UnsafePointer<UInt8>, sourceStride: Int, rows: Int, axis: ResampleAxis,
                                   into output: inout [UInt8], outputStride: Int) {
        let outCols = axis.bounds.count / 2
        axis.bounds.withUnsafeBufferPointer { hb in
            axis.coefficients.withUnsafeBufferPointer { hk in
                output.withUnsafeMutableBufferPointer { o in
                    qim_resample_horizontal_rgb8(source, sourceStride, Int32(rows), o.baseAddress!, outputStride,
                                                 Int32(outCols), hb.baseAddress!, hk.baseAddress!, Int32(axis.ksize),
                                                 axis.precision)
                }
            }
        }
    }

    private static func vertical(source: UnsafePointer<UInt8>, sourceStride: Int, axis: ResampleAxis, rowBytes: Int,
                                 into output: inout [UInt8]) {
        let outRows = axis.bounds.count / 2
        var accumulator = [Int32](repeating: 0, count: rowBytes)
        axis.bounds.withUnsafeBufferPointer { vb in
            axis.coefficients.withUnsafeBufferPointer { vk in
                output.withUnsafeMutableBufferPointer { o in
                    accumulator.withUnsafeMutableBufferPointer { acc in
                        qim_resample_vertical_u8(source, sourceStride, o.baseAddress!, rowBytes, Int32(outRows),
                                                 Int32(rowBytes), vb.baseAddress!, vk.baseAddress!, Int32(axis.ksize),
                                                 axis.precision, acc.baseAddress!)
                    }
                }
            }
        }
    }
}
