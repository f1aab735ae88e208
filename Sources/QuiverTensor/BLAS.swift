import CBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Matrix multiplication through the system CBLAS (OpenBLAS on Linux, Accelerate on macOS).
public enum BLAS {
    /// `C = alpha * op(A) * op(B) + beta * C`, row-major. `op(A)` is m×k, `op(B)` is k×n, C is m×n.
    /// With `transB` B is stored n×k (PyTorch `Linear.weight` [out, in] layout), read in place.
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        _ = prepared
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// One-time setup, run before the first multiplication (thread-safe lazy global).
    ///
    /// OpenBLAS 0.3.21 (Debian 12) does not recognise recent AMD cores (Zen 4/5): left alone it
    /// falls back to its SSE3 "Prescott" kernels, and the usual workaround, OPENBLAS_CORETYPE=Haswell
    /// (set in this machine's environment), gives AVX2 kernels that reach half the AVX-512
    /// throughput on a core with full-width FMA units (measured here: 120 vs 235 GFLOP/s for a
    /// 1024x384x384 sgemm). So when the core OpenBLAS runs is below the hardware's SIMD level,
    /// Quiver re-runs OpenBLAS's own core selection (`gotoblas_dynamic_init`, exported by
    /// DYNAMIC_ARCH builds) with OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2), then
    /// restores the variable. Set QUIVER_BLAS_KEEP_CORE=1 to keep OpenBLAS's choice.
    /// The value is the core in use afterwards.
    public static let prepared: String = {
        #if os(Linux)
        let chosen = coreName
        let avx512Cores = ["skylakex", "cooperlake", "sapphirerapids"]
        let avx2Cores = avx512Cores + ["haswell", "zen"]
        let target: String
        switch SIMDLevel.hardware {
        case .avx512 where !avx512Cores.contains(chosen.lowercased()): target = "SkylakeX"
        case .avx2 where !avx2Cores.contains(chosen.lowercased()): target = "Haswell"
        default: return chosen
        }
        guard ProcessInfo.processInfo.environment["QUIVER_BLAS_KEEP_CORE"] == nil,
              let handle = dlopen(nil, RTLD_NOW),
              let quit = dlsym(handle, "gotoblas_dynamic_quit"), let initialize = dlsym(handle, "gotoblas_dynamic_init")
        else { return chosen }
        typealias Hook = @convention(c) () -> Void
        let previous = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        setenv("OPENBLAS_CORETYPE", target, 1)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(initialize, to: Hook.self)()
        if let previous { setenv("OPENBLAS_CORETYPE", previous, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        return coreName
        #else
        return coreName
        #endif
    }()

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
