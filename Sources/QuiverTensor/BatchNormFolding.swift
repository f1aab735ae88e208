/// Inference-mode batch normalization (PyTorch `BatchNorm2d` in `eval()`):
/// `y = (x - runningMean) / sqrt(runningVar + eps) * weight + bias`, per channel.
/// Convolutions fold it into their weights at load (`Conv2D(batchNorm:)`), so it costs nothing
/// at run time.
public struct BatchNorm: Sendable {
    /// `[channels]` each.
    public let weight: [Float]
    /// Learned shift `beta`, `[channels]`.
    public let bias: [Float]
    /// Mean of each channel over the training data (`running_mean`), `[channels]`.
    public let runningMean: [Float]
    /// Variance of each channel over the training data (`running_var`), `[channels]`.
    public let runningVar: [Float]
    /// Added to the variance (1e-5 in PyTorch, 1e-3 in TF-converted EfficientNets).
    public let eps: Float

    /// All four vectors must have the same length.
    public init(weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float], eps: Float) {
        precondition(weight.count == bias.count && bias.count == runningMean.count && runningMean.count == runningVar.count,
                     "BatchNorm vectors differ in length")
        self.weight = weight
        self.bias = bias
        self.runningMean = runningMean
        self.runningVar = runningVar
        self.eps = eps
    }

    /// Number of channels.
    public var channels: Int { weight.count }

    /// Per channel `(scale, shift)` with `y = x * scale + shift`, computed in double precision.
    public func affine() -> (scale: [Double], shift: [Double]) {
        var scale = [Double](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            let s = Double(weight[c]) / (Double(runningVar[c]) + Double(eps)).squareRoot()
            scale[c] = s
            shift[c] = Double(bias[c]) - Double(runningMean[c]) * s
        }
        return (scale, shift)
    }
}
