import CQuiverKernels

/// Pointer-level entry points of the convolution-network C kernels (`qk_conv.h`) on NHWC images
/// (`height` rows of `width` pixels of `channels` floats, channel fastest). Single-threaded;
/// `level` defaults to `SIMDLevel.current` (tests pass each level to compare with the scalar twin).
public enum ConvKernels {
    /// The clamp bounds that fuse `activation` into a kernel, or nil when it is not a clamp
    /// (only `.none`, `.relu` and `.relu6` are).
    public static func clampBounds(_ activation: Activation) -> (lo: Float, hi: Float)? {
        switch activation {
        case .none: return (-.infinity, .infinity)
        case .relu: return (0, .infinity)
        case .relu6: return (0, 6)
        default: return nil
        }
    }

    /// Depthwise convolution with zero padding and a fused bias and clamp (see `qk_depthwise_conv2d`).
    /// - weight: `[kernelHeight, kernelWidth, channels]`; bias: `[channels]` or nil.
    /// - out: `[outHeight, outWidth, channels]`, the input window of output `(oy, ox)` starting at
    ///   `(oy * stride - padTop, ox * stride - padLeft)`.
    public static func depthwiseConv2d(_ input: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                                       weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                       kernelHeight: Int, kernelWidth: Int, stride: Int, padTop: Int, padLeft: Int,
                                       out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int,
                                       lo: Float = -.infinity, hi: Float = .infinity, level: SIMDLevel = .current) {
        qk_depthwise_conv2d_at(level.cLevel, input, height, width, channels, weight, bias, kernelHeight, kernelWidth,
                               stride, padTop, padLeft, out, outHeight, outWidth, lo, hi)
    }

    /// Max pooling over `kernel`x`kernel` windows; padded positions are ignored (PyTorch `MaxPool2d`).
    public static func maxPool2d(_ input: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                                 kernel: Int, stride: Int, padding: Int,
                                 out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int, level: SIMDLevel = .current) {
        qk_maxpool2d_at(level.cLevel, input, height, width, channels, kernel, stride, padding, out, outHeight, outWidth)
    }

    /// `out[c]` = mean of `input[p * channels + c]` over `pixels` positions.
    public static func globalAveragePool(_ input: UnsafePointer<Float>, pixels: Int, channels: Int,
                                         out: UnsafeMutablePointer<Float>, level: SIMDLevel = .current) {
        qk_global_avgpool_at(level.cLevel, input, pixels, channels, out)
    }

    /// In place `x[i] = min(max(x[i] + y[i], lo), hi)` (residual add with a fused ReLU / ReLU6).
    public static func addClamp(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int,
                                lo: Float = -.infinity, hi: Float = .infinity, level: SIMDLevel = .current) {
        qk_add_clamp_at(level.cLevel, x, y, count, lo, hi)
    }
}

/// Output size of PyTorch `MaxPool2d` / `Conv2d` along one axis (floor mode).
@inlinable
public func pooledSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
    (size + 2 * padding - kernel) / stride + 1
}
