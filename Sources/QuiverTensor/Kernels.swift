import CQuiverKernels

/// Instruction-set levels of the C kernels (see `qk_cpu.h`): `scalar` (portable C, every machine),
/// `neon` (ARM64), `avx2` (x86-64 AVX2 + FMA) and `avx512` (x86-64 AVX-512 F, BW, DQ and VL). Each kernel has a
/// variant per level, chosen at run time; the scalar twin is the reference the others are tested against.
public enum SIMDLevel: Int, Sendable, CaseIterable, Comparable {
    case scalar = 0, neon = 1, avx2 = 2, avx512 = 3

    /// The level the kernels use in this process (the hardware's, capped by `QUIVER_SIMD`).
    public static var current: SIMDLevel { SIMDLevel(rawValue: Int(qk_cpu_level().rawValue)) ?? .scalar }
    /// The hardware's level, ignoring `QUIVER_SIMD`.
    public static var hardware: SIMDLevel { SIMDLevel(rawValue: Int(qk_cpu_hardware_level().rawValue)) ?? .scalar }

    /// The levels this machine can run (always includes `.scalar`).
    public static var available: [SIMDLevel] {
        allCases.filter { $0 <= hardware && ($0 != .neon || hardware == .neon) }
    }

    /// Short name ("scalar", "neon", "avx2", "avx512").
    public var name: String { String(cString: qk_level_name(cLevel)) }

    var cLevel: qk_level { qk_level(rawValue: UInt32(rawValue)) }

    /// Orders levels by capability: `scalar < neon < avx2 < avx512`.
    public static func < (a: SIMDLevel, b: SIMDLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Element-wise activation functions of the kernels.
public enum Activation: Sendable, Equatable {
    /// Identity.
    case none
    /// `x * 0.5 * (1 + erf(x / sqrt 2))`: Hugging Face "gelu" (BERT, MPNet, Whisper).
    case geluErf
    /// `x * 0.5 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`: "gelu_new", "gelu_pytorch_tanh".
    case geluTanh
    /// `max(x, 0)`.
    case relu
    /// `min(max(x, 0), 6)`.
    case relu6
    /// `x * sigmoid(1.702 x)` (CLIP "quick_gelu").
    case quickGelu
    /// `x * sigmoid(x)` ("silu", "swish").
    case silu

    /// The activation for a Hugging Face `hidden_act` name, or nil if unknown.
    public init?(huggingFaceName name: String) {
        switch name {
        case "gelu", "gelu_python": self = .geluErf
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "relu": self = .relu
        case "relu6": self = .relu6
        case "quick_gelu": self = .quickGelu
        case "silu", "swish": self = .silu
        case "linear", "identity": self = .none
        default: return nil
        }
    }

    var cValue: qk_activation {
        switch self {
        case .none: return QK_ACT_NONE
        case .geluErf: return QK_ACT_GELU_ERF
        case .geluTanh: return QK_ACT_GELU_TANH
        case .relu: return QK_ACT_RELU
        case .relu6: return QK_ACT_RELU6
        case .quickGelu: return QK_ACT_QUICK_GELU
        case .silu: return QK_ACT_SILU
        }
    }
}

/// Pointer-level entry points of the C kernels. All are single-threaded; `level` defaults to
/// `SIMDLevel.current` (tests pass each level to compare SIMD forms with the scalar twin).
/// Matrices are row-major with row stride `ld` (in floats).
public enum Kernels {
    /// `out[r,:] = LayerNorm(x[r,:] + bias + residual[r,:]) * gamma + beta`; `out` may alias `x` or `residual`.
    public static func layerNorm(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil,
                                 residual: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>,
                                 rows: Int, cols: Int, ld: Int? = nil,
                                 gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
                                 level: SIMDLevel = .current) {
        qk_layernorm_at(level.cLevel, x, bias, residual, out, rows, cols, ld ?? cols, gamma, beta, eps)
    }

    /// In place `x[r,c] = act(x[r,c] + bias[c])`.
    public static func biasActivation(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int? = nil,
                                      bias: UnsafePointer<Float>?, activation: Activation,
                                      level: SIMDLevel = .current) {
        qk_bias_act_at(level.cLevel, x, rows, cols, ld ?? cols, bias, activation.cValue)
    }

    /// In place softmax of each row.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int? = nil,
                                   level: SIMDLevel = .current) {
        qk_softmax_rows_at(level.cLevel, x, rows, cols, ld ?? cols)
    }

    /// `out[i] = exp(x[i])` with the kernels' approximation (relative error < 2e-7).
    public static func exp(_ x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int,
                           level: SIMDLevel = .current) {
        qk_exp_at(level.cLevel, x, out, count)
    }

    /// Floats of scratch `attention` needs.
    public static func attentionScratchCount(kvLength: Int, headDim: Int) -> Int {
        Int(qk_attention_scratch_floats(kvLength, headDim))
    }

    /// Multi-head scaled dot-product attention of one unpadded sequence (see `qk_attention` in qk_ops.h).
    /// - q: `qLength` rows (stride `ldQ`), k/v: `kvLength` rows (stride `ldKV`); head `h` uses
    ///   columns `h*headDim ..< (h+1)*headDim`.
    /// - bias: optional additive scores, element `[h, i, j]` at `h*biasHeadStride + i*biasRowStride + j`
    ///   (defaults: a dense `[heads, qLength, kvLength]` block; relative positions, masks).
    /// - out: `qLength` rows of `heads*headDim` (stride `ldOut`).
    public static func attention(q: UnsafePointer<Float>, ldQ: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldKV: Int,
                                 out: UnsafeMutablePointer<Float>, ldOut: Int, qLength: Int, kvLength: Int,
                                 heads: Int, headDim: Int, scale: Float, bias: UnsafePointer<Float>? = nil,
                                 biasHeadStride: Int? = nil, biasRowStride: Int? = nil, scratch: UnsafeMutablePointer<Float>, level: SIMDLevel = .current) {
        qk_attention_at(level.cLevel, q, ldQ, k, v, ldKV, out, ldOut, qLength, kvLength, heads, headDim, scale, bias,
                        biasHeadStride ?? qLength * kvLength, biasRowStride ?? kvLength, scratch)
    }
}
