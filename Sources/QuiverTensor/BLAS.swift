import CBLAS

/// Matrix multiplication through the system CBLAS (OpenBLAS on Linux, Accelerate on macOS).
public enum BLAS {
    /// `C = alpha * op(A) * op(B) + beta * C`, row-major. `op(A)` is m×k, `op(B)` is k×n, C is m×n.
    /// With `transB` B is stored n×k (PyTorch `Linear.weight` [out, in] layout), read in place.
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Number of threads BLAS uses inside one call. Quiver's models split work across their own
    /// threads and call BLAS with 1 thread so the two pools do not fight over the cores.
    public static var threads: Int {
        get {
            #if os(Linux)
            return Int(openblas_get_num_threads())
            #else
            return 1
            #endif
        }
    }

    /// Sets the BLAS thread count (process-wide; OpenBLAS only, ignored on Accelerate).
    public static func setThreads(_ n: Int) {
        #if os(Linux)
        openblas_set_num_threads(Int32(max(1, n)))
        #endif
    }

    /// The BLAS core in use (e.g. "Haswell", "SkylakeX"), for benchmark reports.
    public static var coreName: String {
        #if os(Linux)
        if let p = openblas_get_corename() { return String(cString: p) }
        #endif
        return "accelerate"
    }
}
