/// A fully connected layer `y = x Wᵀ + b` with PyTorch's weight layout (`weight` is [out, in]),
/// read in place (a mapped checkpoint matrix is used without copying).
public struct Linear: Sendable {
    /// `[outFeatures, inFeatures]`.
    public let weight: Tensor
    /// `[outFeatures]`, or nil.
    public let bias: Tensor?

    /// Checks the shapes: `weight` must be 2-D and `bias` (if any) must have `weight.shape[0]` elements.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "Linear weight must be [out, in], got \(weight.shape)")
        if let bias { precondition(bias.count == weight.shape[0], "Linear bias \(bias.shape) for weight \(weight.shape)") }
        self.weight = weight
        self.bias = bias
    }

    /// Width of each input row (`weight.shape[1]`).
    public var inFeatures: Int { weight.shape[1] }
    /// Width of each output row (`weight.shape[0]`).
    public var outFeatures: Int { weight.shape[0] }

    /// `y[r, :] = act(x[r, :] Wᵀ + b)` for `rows` rows. `x` rows are `ldx` floats apart (default
    /// `inFeatures`), `y` rows `ldy` apart (default `outFeatures`), so outputs can be written into a
    /// column block of a wider matrix. With `addBias: false` the bias is left for a later fused kernel.
    public func apply(_ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Int, into y: UnsafeMutablePointer<Float>,
                      ldy: Int? = nil, addBias: Bool = true, activation: Activation = .none) {
        let ldy = ldy ?? outFeatures
        var beta: Float = 0
        if addBias, let b = bias?.pointer {
            // Start C at the bias and accumulate (beta 1): BLAS then skips its zeroing pass and no
            // separate bias pass is needed.
            for r in 0..<rows { (y + r * ldy).update(from: b, count: outFeatures) }
            beta = 1
        }
        BLAS.gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: ldx ?? inFeatures,
                  b: weight.pointer, ldb: inFeatures, beta: beta, c: y, ldc: ldy)
        if activation != .none {
            Kernels.biasActivation(y, rows: rows, cols: outFeatures, ld: ldy, bias: nil, activation: activation)
        }
    }

    /// `act(x Wᵀ + b)` for `x` of shape `[..., inFeatures]`; returns `[..., outFeatures]`.
    public func callAsFunction(_ x: Tensor, activation: Activation = .none) -> Tensor {
        precondition(x.shape.last == inFeatures, "Linear expects [..., \(inFeatures)], got \(x.shape)")
        var shape = x.shape
        shape[shape.count - 1] = outFeatures
        let y = Tensor(shape: shape, storage: TensorStorage(uninitialized: shape.reduce(1, *)))
        apply(x.pointer, rows: x.count / inFeatures, into: y.mutablePointer, activation: activation)
        return y
    }
}

/// Layer normalization over the last axis with learned scale and shift (PyTorch `nn.LayerNorm`).
public struct LayerNorm: Sendable {
    /// Scale `[features]`, or nil for 1.
    public let weight: Tensor?
    /// Shift `[features]`, or nil for 0.
    public let bias: Tensor?
    /// Number of features (the last axis).
    public let features: Int
    /// Added to the variance (`layer_norm_eps`).
    public let eps: Float

    /// A LayerNorm over `features` values per row.
    /// - Parameters:
    ///   - weight: scale, `[features]`, or nil for no scaling.
    ///   - bias: shift, `[features]`, or nil for no shift.
    ///   - features: length of the normalized (last) axis.
    ///   - eps: added to the variance before the square root (`layer_norm_eps`, e.g. 1e-12 for BERT, 1e-5 for CLIP).
    /// - Precondition: `weight` and `bias`, when given, have `features` elements (a programming error traps).
    public init(weight: Tensor?, bias: Tensor?, features: Int, eps: Float) {
        if let weight { precondition(weight.count == features, "LayerNorm weight \(weight.shape) for \(features) features") }
        if let bias { precondition(bias.count == features, "LayerNorm bias \(bias.shape) for \(features) features") }
        self.weight = weight
        self.bias = bias
        self.features = features
        self.eps = eps
    }

    /// `out[r] = LN(x[r] + addBias + residual[r])` for `rows` rows (`out` may alias `x` or `residual`).
    public func apply(_ x: UnsafePointer<Float>, addBias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil,
                      rows: Int, into out: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        Kernels.layerNorm(x, bias: addBias, residual: residual, out: out, rows: rows, cols: features, ld: ld,
                          gamma: weight?.pointer, beta: bias?.pointer, eps: eps)
    }

    /// LN(x) for `x` of shape `[..., features]`; a new tensor.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == features, "LayerNorm expects [..., \(features)], got \(x.shape)")
        let y = Tensor(shape: x.shape, storage: TensorStorage(uninitialized: x.count))
        apply(x.pointer, rows: x.count / features, into: y.mutablePointer)
        return y
    }
}
