import Foundation

/// A 2-D convolution on NHWC images with a fused bias (and folded BatchNorm) and activation.
///
/// Dense convolutions run as im2col + GEMM: each output pixel's `kernelHeight x kernelWidth x
/// inChannels` input window is gathered into a row (a 1x1 stride-1 convolution reads the image in
/// place), then one `[pixels, K] x [K, outChannels]` multiplication computes every output channel.
/// Depthwise convolutions (`groups == inChannels == outChannels`) run their own SIMD kernel.
public struct Conv2D: Sendable {
    /// How the input is padded with zeros.
    public enum Padding: Sendable, Equatable {
        /// Fixed zero padding on each side (PyTorch `padding=`).
        case explicit(top: Int, left: Int, bottom: Int, right: Int)
        /// TensorFlow 'SAME': output size `ceil(in / stride)`, total padding
        /// `max((out - 1) * stride + kernel - in, 0)`, the smaller half before (top/left).
        case same

        /// The same padding `p` on all four sides.
        public static func symmetric(_ p: Int) -> Padding { .explicit(top: p, left: p, bottom: p, right: p) }
    }

    /// Channels of the input image (for a depthwise convolution, equal to ``outChannels``).
    public let inChannels: Int
    /// Channels of the output image (number of filters).
    public let outChannels: Int
    /// Filter height in pixels.
    public let kernelHeight: Int
    /// Filter width in pixels.
    public let kernelWidth: Int
    /// Step between filter positions, in pixels, in both directions (at least 1).
    public let stride: Int
    /// Zero padding around the input: fixed per side, or TensorFlow 'SAME'.
    public let padding: Padding
    /// True for a depthwise convolution (one filter per channel).
    public let isDepthwise: Bool
    /// Applied after the bias (and after the residual when accumulating).
    public let activation: Activation
    /// Dense: `[outChannels, kernelHeight * kernelWidth * inChannels]` (window order ky, kx, ci).
    /// Depthwise: `[kernelHeight * kernelWidth, channels]`.
    public let weight: Tensor
    /// `[outChannels]` (zeros when the layer has neither bias nor BatchNorm).
    public let bias: Tensor

    /// Builds the layer from PyTorch tensors.
    /// - Parameters:
    ///   - weight: `[outChannels, inChannels / groups, kernelHeight, kernelWidth]` (PyTorch `Conv2d.weight`).
    ///   - bias: `[outChannels]` or nil.
    ///   - batchNorm: a BatchNorm applied right after the convolution, folded into weight and bias.
    ///   - stride: step between filter positions in pixels, both directions (at least 1).
    ///   - padding: zero padding, explicit per side or TensorFlow 'SAME'.
    ///   - groups: 1 (dense) or `inChannels` with `outChannels == inChannels` (depthwise).
    ///   - activation: applied after the bias (fused into the convolution's output pass).
    public init(weight: Tensor, bias: Tensor? = nil, batchNorm: BatchNorm? = nil, stride: Int = 1,
                padding: Padding, groups: Int = 1, activation: Activation = .none) {
        precondition(weight.rank == 4, "Conv2D weight must be [out, in/groups, kh, kw], got \(weight.shape)")
        let co = weight.shape[0], cig = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3]
        precondition(stride >= 1, "stride must be positive")
        let depthwise = groups > 1
        if depthwise { precondition(groups == co && cig == 1, "only depthwise grouped convolutions are supported (groups \(groups), weight \(weight.shape))") }
        if let bias { precondition(bias.count == co, "Conv2D bias \(bias.shape) for \(co) output channels") }
        if let batchNorm { precondition(batchNorm.channels == co, "BatchNorm of \(batchNorm.channels) channels after a \(co)-channel convolution") }
        inChannels = depthwise ? co : cig
        outChannels = co
        kernelHeight = kh
        kernelWidth = kw
        self.stride = stride
        self.padding = padding
        isDepthwise = depthwise
        self.activation = activation

        let (scale, shift) = batchNorm?.affine() ?? ([Double](repeating: 1, count: co), [Double](repeating: 0, count: co))
        let b = Tensor(zeros: [co])
        for c in 0..<co { b.mutablePointer[c] = Float(Double(bias.map { $0.pointer[c] } ?? 0) * scale[c] + shift[c]) }
        self.bias = b
        let src = weight.pointer
        let taps = kh * kw
        if depthwise {
            let w = Tensor(zeros: [taps, co])
            for c in 0..<co { for t in 0..<taps { w.mutablePointer[t * co + c] = Float(Double(src[c * taps + t]) * scale[c]) } }
            self.weight = w
        } else {
            let k = taps * cig
            let w = Tensor(zeros: [co, k])
            let dst = w.mutablePointer
            for o in 0..<co {
                for ci in 0..<cig {
                    for t in 0..<taps { dst[o * k + t * cig + ci] = Float(Double(src[(o * cig + ci) * taps + t]) * scale[o]) }
                }
            }
            self.weight = w
        }
    }

    /// Output size and top/left padding for an input of `height` x `width`.
    public func geometry(height: Int, width: Int) -> (outHeight: Int, outWidth: Int, padTop: Int, padLeft: Int) {
        switch padding {
        case let .explicit(top, left, bottom, right):
            return ((height + top + bottom - kernelHeight) / stride + 1, (width + left + right - kernelWidth) / stride + 1, top, left)
        case .same:
            let oh = (height + stride - 1) / stride, ow = (width + stride - 1) / stride
            let th = max((oh - 1) * stride + kernelHeight - height, 0), tw = max((ow - 1) * stride + kernelWidth - width, 0)
            return (oh, ow, th / 2, tw / 2)
        }
    }

    /// Floats of scratch `apply` needs for an input of `height` x `width` (0 when it needs none).
    public func scratchCount(height: Int, width: Int) -> Int {
        let g = geometry(height: height, width: width)
        return readsInPlace(g, height: height, width: width) ? 0 : g.outHeight * g.outWidth * kernelHeight * kernelWidth * inChannels
    }

    /// True when the GEMM can read the input as it is (depthwise, or 1x1 stride 1 without padding).
    private func readsInPlace(_ g: (outHeight: Int, outWidth: Int, padTop: Int, padLeft: Int), height: Int, width: Int) -> Bool {
        if isDepthwise { return true }
        return kernelHeight == 1 && kernelWidth == 1 && stride == 1 && g.padTop == 0 && g.padLeft == 0
            && g.outHeight == height && g.outWidth == width
    }

    /// Runs the convolution on one NHWC image.
    /// - Parameters:
    ///   - input: `[height, width, inChannels]`.
    ///   - height: input height in pixels.
    ///   - width: input width in pixels.
    ///   - output: `[outHeight, outWidth, outChannels]` (see `geometry`); must not overlap `input`.
    ///   - accumulate: add the convolution to what `output` holds (a residual) before the bias
    ///     and activation: `output = act(output + conv(input) + bias)`. Dense layers only.
    ///   - scratch: at least `scratchCount(height:width:)` floats.
    ///   - threads: splits the output pixels across this many threads.
    /// - Returns: the output height and width.
    @discardableResult
    public func apply(_ input: UnsafePointer<Float>, height: Int, width: Int, into output: UnsafeMutablePointer<Float>,
                      accumulate: Bool = false, scratch: UnsafeMutablePointer<Float>?, threads: Int = 1) -> (height: Int, width: Int) {
        let g = geometry(height: height, width: width)
        let oh = g.outHeight, ow = g.outWidth
        let pixels = oh * ow
        guard pixels > 0 else { return (oh, ow) }
        let parts = Parallel.split(oh, parts: max(1, min(threads, oh)))
        let out = output, col = scratch
        if isDepthwise {
            precondition(!accumulate, "a depthwise Conv2D does not accumulate")
            let bounds = ConvKernels.clampBounds(activation)
            Parallel.forEach(parts.count, threads: parts.count) { p in
                let rows = parts[p]
                // Rows of the output band read input rows from (first * stride - padTop).
                ConvKernels.depthwiseConv2d(input, height: height, width: width, channels: outChannels,
                                            weight: weight.pointer, bias: bias.pointer, kernelHeight: kernelHeight,
                                            kernelWidth: kernelWidth, stride: stride,
                                            padTop: g.padTop - rows.lowerBound * stride, padLeft: g.padLeft,
                                            out: out + rows.lowerBound * ow * outChannels, outHeight: rows.count, outWidth: ow,
                                            lo: bounds?.lo ?? -.infinity, hi: bounds?.hi ?? .infinity)
                if bounds == nil {
                    Kernels.biasActivation(out + rows.lowerBound * ow * outChannels, rows: rows.count * ow, cols: outChannels,
                                           bias: nil, activation: activation)
                }
            }
            return (oh, ow)
        }
        let k = kernelHeight * kernelWidth * inChannels
        let inPlace = readsInPlace(g, height: height, width: width)
        precondition(inPlace || scratch != nil, "Conv2D needs \(pixels * k) floats of scratch")
        Parallel.forEach(parts.count, threads: parts.count) { p in
            let rows = parts[p]
            let first = rows.lowerBound * ow, count = rows.count * ow
            let a: UnsafePointer<Float>
            if inPlace {
                a = input + first * inChannels
            } else {
                let c = col! + first * k
                im2col(input, height: height, width: width, rows: rows, outWidth: ow, padTop: g.padTop, padLeft: g.padLeft, into: c)
                a = UnsafePointer(c)
            }
            BLAS.gemm(transB: true, m: count, n: outChannels, k: k, a: a, lda: k, b: weight.pointer, ldb: k,
                      beta: accumulate ? 1 : 0, c: out + first * outChannels, ldc: outChannels)
            Kernels.biasActivation(out + first * outChannels, rows: count, cols: outChannels, bias: bias.pointer, activation: activation)
        }
        return (oh, ow)
    }

    /// Gathers the input windows of output rows `rows` into `[rows.count * outWidth, K]`.
    private func im2col(_ input: UnsafePointer<Float>, height: Int, width: Int, rows: Range<Int>, outWidth ow: Int,
                        padTop: Int, padLeft: Int, into col: UnsafeMutablePointer<Float>) {
        let ci = inChannels, kh = kernelHeight, kw = kernelWidth
        let k = kh * kw * ci
        var dst = col
        for oy in rows {
            for ox in 0..<ow {
                let y0 = oy * stride - padTop, x0 = ox * stride - padLeft
                // Window columns inside the image: kx in [kx0, kx1).
                let kx0 = max(0, -x0), kx1 = min(kw, width - x0)
                for ky in 0..<kh {
                    let row = dst + ky * kw * ci
                    let iy = y0 + ky
                    if iy < 0 || iy >= height || kx1 <= kx0 {
                        row.update(repeating: 0, count: kw * ci)
                        continue
                    }
                    if kx0 > 0 { row.update(repeating: 0, count: kx0 * ci) }
                    // In NHWC the window's pixels of one input row are contiguous.
                    (row + kx0 * ci).update(from: input + (iy * width + x0 + kx0) * ci, count: (kx1 - kx0) * ci)
                    if kx1 < kw { (row + kx1 * ci).update(repeating: 0, count: (kw - kx1) * ci) }
                }
                dst += k
            }
        }
    }
}
