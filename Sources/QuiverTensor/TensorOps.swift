/// Allocating operations on whole tensors, for model code outside hot loops and for tests.
/// Hot paths use `Linear.apply`, `Kernels` and `BLAS.gemm` on workspace buffers instead.
extension Tensor {
    /// Matrix product of 2-D tensors: `self` [m, k] × `other` [k, n] (or `other` [n, k] with
    /// `transposeOther`), a new [m, n] tensor.
    public func matmul(_ other: Tensor, transposeOther: Bool = false) -> Tensor {
        precondition(rank == 2 && other.rank == 2, "matmul of \(shape) and \(other.shape)")
        let m = shape[0], k = shape[1]
        let n = transposeOther ? other.shape[0] : other.shape[1]
        precondition((transposeOther ? other.shape[1] : other.shape[0]) == k, "matmul of \(shape) and \(other.shape)\(transposeOther ? "ᵀ" : "")")
        let c = Tensor(zeros: [m, n])
        BLAS.gemm(transB: transposeOther, m: m, n: n, k: k, a: pointer, lda: k, b: other.pointer,
                  ldb: other.shape[1], c: c.mutablePointer, ldc: n)
        return c
    }

    /// Element-wise sum with a tensor of the same shape, or with a vector broadcast over the last axis.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let y = a.copy()
        let p = y.mutablePointer, q = b.pointer
        if b.shape == a.shape {
            for i in 0..<a.count { p[i] += q[i] }
        } else {
            precondition(b.count == a.shape.last, "cannot add \(b.shape) to \(a.shape)")
            Kernels.biasActivation(p, rows: a.count / b.count, cols: b.count, bias: q, activation: .none)
        }
        return y
    }

    /// `act(self)` element-wise, a new tensor.
    public func applying(_ activation: Activation) -> Tensor {
        let y = copy()
        if count > 0 { Kernels.biasActivation(y.mutablePointer, rows: 1, cols: count, bias: nil, activation: activation) }
        return y
    }

    /// Softmax over the last axis, a new tensor.
    public func softmax() -> Tensor {
        let y = copy()
        if let n = shape.last, n > 0 { Kernels.softmaxRows(y.mutablePointer, rows: count / n, cols: n) }
        return y
    }
}
