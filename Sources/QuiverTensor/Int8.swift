import CQuiverKernels

/// Numeric precision of a model's linear layers.
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// Float32 weights and products (the default; exactly the checkpoint's arithmetic).
    case float32
    /// Weights quantized to int8 per output channel, activations to u8 per row at run time, products
    /// in int32 (AVX-512 VNNI / AVX2 / scalar); attention, softmax and layer norms stay float32, and
    /// so do the few outlier input channels a calibration finds (see `QuantizedLinear`).
    case int8

    /// Parses "fp32"/"float32"/"f32" and "int8"/"i8" (case-insensitive), or nil.
    public init?(name: String) {
        switch name.lowercased() {
        case "fp32", "float32", "f32", "float": self = .float32
        case "int8", "i8", "q8": self = .int8
        default: return nil
        }
    }
}

/// A `Linear` layer with int8 weights: each output channel `j` holds `q[j, :] * scale[j]`
/// (symmetric, `q` in -127...127), packed for the int8 kernels (`qk_int8.h`). Inputs are quantized
/// per row to u8 with a zero point at each call, the product is exact in int32 and dequantized
/// with the bias added in one epilogue.
///
/// Outlier input channels (LLM.int8()-style decomposition): transformer activations have a few
/// channels whose values are many times larger than the rest (the [CLS]/[SEP] rows of BERT-family
/// models above all). Quantized with the rest, they set each row's scale and leave the other
/// channels a handful of levels. Given the largest |x| each input channel reached on calibration
/// text (`inputMaxAbs`), the channels above `outlierRatio` times the median are kept out of the
/// int8 product: their inputs and weights stay float32 and their product is added to the int8
/// one in the same kernel's epilogue (fused multiply-adds in channel order, before the single
/// store); the row quantization skips them and the int8 weights' per-channel scales are taken
/// over the other columns only.
public final class QuantizedLinear: @unchecked Sendable {
    /// Width of each input row.
    public let inFeatures: Int
    /// Width of each output row.
    public let outFeatures: Int
    /// The float32 bias (`[outFeatures]`), or nil.
    public let bias: Tensor?
    /// The input channels kept in float32 (ascending; empty without calibration statistics).
    public let outlierChannels: [Int]
    private let packed: UnsafeMutablePointer<Int8>
    private let scales: UnsafeMutablePointer<Float>
    private let colsums: UnsafeMutablePointer<Int32>
    /// 1 for the int8 input channels, 0 for the outliers (`inFeatures` floats), or nil without outliers.
    private let keep: UnsafeMutablePointer<Float>?
    /// `outlierChannels` as the kernels take them.
    private let outlierIndex: [Int32]
    /// The float32 weight columns of the outlier channels in `qk_int8_pack_outliers`' layout, or nil.
    private let outlierPacked: UnsafeMutablePointer<Float>?

    /// The default `outlierRatio`: a channel is an outlier when its calibration maximum is more than
    /// twice the median channel's (measured on all-MiniLM-L6-v2 and all-mpnet-base-v2: about 4 % of
    /// the input channels).
    public static let defaultOutlierRatio: Float = 2

    /// The channels of `inputMaxAbs` above `ratio` times its median, ascending.
    public static func outliers(inputMaxAbs: [Float], ratio: Float = defaultOutlierRatio) -> [Int] {
        guard !inputMaxAbs.isEmpty else { return [] }
        let sorted = inputMaxAbs.sorted()
        let median = sorted[sorted.count / 2]
        guard median > 0 else { return [] }
        return inputMaxAbs.indices.filter { inputMaxAbs[$0] > ratio * median }
    }

    /// Quantizes `linear`'s weight per output channel.
    /// - Parameters:
    ///   - inputMaxAbs: the largest |x| each input channel reached on calibration inputs (nil: no
    ///     outlier channels, every column in int8).
    ///   - outlierRatio: a channel above this times the median maximum stays float32.
    public init(_ linear: Linear, inputMaxAbs: [Float]? = nil, outlierRatio: Float = QuantizedLinear.defaultOutlierRatio) {
        inFeatures = linear.inFeatures
        outFeatures = linear.outFeatures
        bias = linear.bias
        if let m = inputMaxAbs { precondition(m.count == linear.inFeatures, "inputMaxAbs has \(m.count) channels, the layer \(linear.inFeatures)") }
        outlierChannels = inputMaxAbs.map { Self.outliers(inputMaxAbs: $0, ratio: outlierRatio) } ?? []
        let bytes = max(1, Int(qk_int8_packed_bytes(outFeatures, inFeatures)))
        packed = .allocate(capacity: bytes)
        scales = .allocate(capacity: max(1, outFeatures))
        colsums = .allocate(capacity: max(1, outFeatures))
        outlierIndex = outlierChannels.map { Int32($0) }
        if outlierChannels.isEmpty {
            keep = nil
            outlierPacked = nil
            qk_int8_quantize_weights(linear.weight.pointer, outFeatures, inFeatures, inFeatures, packed, scales, colsums)
        } else {
            // The int8 part sees the weight with the outlier columns zeroed; those columns stay float32.
            let n = outFeatures, k = inFeatures, o = outlierChannels.count
            let rest = Tensor(zeros: [n, k])
            let w = linear.weight.pointer, r = rest.mutablePointer
            r.update(from: w, count: n * k)
            let mask = UnsafeMutablePointer<Float>.allocate(capacity: k)
            mask.initialize(repeating: 1, count: k)
            for c in outlierChannels {
                mask[c] = 0
                for j in 0..<n { r[j * k + c] = 0 }
            }
            keep = mask
            let floats = max(1, Int(qk_int8_outlier_packed_floats(n, o)))
            let thin = UnsafeMutablePointer<Float>.allocate(capacity: floats)
            qk_int8_pack_outliers(w, n, k, k, outlierIndex, o, thin)
            outlierPacked = thin
            qk_int8_quantize_weights(r, n, k, k, packed, scales, colsums)
        }
    }

    /// Several layers over the same input side by side as one ([Σ out, in]; e.g. Q, K and V), so the
    /// input is quantized once. Each output channel keeps its own scale, so the result equals the parts'.
    /// `inputMaxAbs` and `outlierRatio` as for ``init(_:inputMaxAbs:outlierRatio:)`` (the parts share the input).
    public convenience init(concatenating parts: [Linear], inputMaxAbs: [Float]? = nil,
                            outlierRatio: Float = QuantizedLinear.defaultOutlierRatio) {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.inFeatures == parts[0].inFeatures }, "parts must share inFeatures")
        let k = parts[0].inFeatures, n = parts.reduce(0) { $0 + $1.outFeatures }
        let w = Tensor(zeros: [n, k])
        var row = 0
        for p in parts {
            (w.mutablePointer + row * k).update(from: p.weight.pointer, count: p.outFeatures * k)
            row += p.outFeatures
        }
        var bias: Tensor? = nil
        if parts.allSatisfy({ $0.bias != nil }) {
            let b = Tensor(zeros: [n])
            var o = 0
            for p in parts { (b.mutablePointer + o).update(from: p.bias!.pointer, count: p.outFeatures); o += p.outFeatures }
            bias = b
        }
        self.init(Linear(weight: w, bias: bias), inputMaxAbs: inputMaxAbs, outlierRatio: outlierRatio)
    }

    deinit {
        packed.deallocate()
        scales.deallocate()
        colsums.deallocate()
        keep?.deallocate()
        outlierPacked?.deallocate()
    }

    /// Bytes of the quantized u8 input rows for `rows` rows (the scratch `apply` needs, besides 2 x rows floats).
    public func scratchBytes(rows: Int) -> Int { rows * Int(qk_int8_row_bytes(inFeatures)) }

    /// `y[r, :] = act(x[r, :] Wᵀ + b)` with int8 products (see the type). `x` rows are `ldx` floats apart,
    /// `y` rows `ldy`. With `addBias: false` the bias is left for a later fused kernel. `workspace`
    /// slot `slot` holds the quantized rows; with outlier channels, slot `slot + 1` holds their
    /// float32 inputs (`rows x outlierChannels.count`).
    public func apply(_ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Int, into y: UnsafeMutablePointer<Float>,
                      ldy: Int? = nil, addBias: Bool = true, activation: Activation = .none,
                      workspace: Workspace, slot: Int, level: SIMDLevel = .current) {
        guard rows > 0 else { return }
        let k = inFeatures, ldx = ldx ?? k, ldy = ldy ?? outFeatures, o = outlierChannels.count
        let rowBytes = Int(qk_int8_row_bytes(k))
        // Quantized rows, then per-row scales and zero points, in one float buffer.
        let floats = (rows * rowBytes + 3) / 4 + 2 * rows
        let buffer = workspace.buffer(slot, count: floats)
        let qStart = UnsafeMutableRawPointer(buffer).bindMemory(to: UInt8.self, capacity: rows * rowBytes)
        let meta = buffer + (rows * rowBytes + 3) / 4
        let aScales = meta
        let zeros = UnsafeMutableRawPointer(meta + rows).bindMemory(to: Int32.self, capacity: rows)
        let thin: UnsafeMutablePointer<Float>? = o > 0 ? workspace.buffer(slot + 1, count: rows * o) : nil
        outlierIndex.withUnsafeBufferPointer { index in
            qk_int8_quantize_rows_split_at(level.cLevel, x, rows, k, ldx, keep, index.baseAddress, o,
                                           qStart, rowBytes, aScales, zeros, thin, o)
        }
        let b = addBias ? bias?.pointer : nil
        qk_int8_gemm_f32_split_at(level.cLevel, qStart, rowBytes, packed, rows, outFeatures, k,
                                  aScales, zeros, scales, colsums, b, thin, o, outlierPacked, o, y, ldy)
        // The float buffer is rebound per call; restore its type for the workspace's other users.
        _ = UnsafeMutableRawPointer(buffer).bindMemory(to: Float.self, capacity: floats)
        if activation != .none {
            Kernels.biasActivation(y, rows: rows, cols: outFeatures, ld: ldy, bias: nil, activation: activation, level: level)
        }
    }
}

/// Pointer-level entry points of the int8 kernels (`qk_int8.h`), for tests and benchmarks.
public enum Int8Kernels {
    /// True when this machine runs AVX-512 VNNI (the `avx512` level's int8 form).
    public static var hasVNNI: Bool { qk_int8_has_vnni() != 0 }
    /// The form the int8 product runs at `level` here ("scalar", "avx2", "avx512-vnni").
    public static func formName(_ level: SIMDLevel = .current) -> String {
        switch qk_int8_effective_level(level.cLevel) {
        case 3: return "avx512-vnni"
        case 2: return "avx2"
        default: return "scalar"
        }
    }
    /// Bytes of packed weights for an [n, k] matrix.
    public static func packedBytes(n: Int, k: Int) -> Int { Int(qk_int8_packed_bytes(n, k)) }
    /// Bytes of one quantized input row of k values.
    public static func rowBytes(k: Int) -> Int { Int(qk_int8_row_bytes(k)) }
    /// Packs int8 `w` ([n, k], row-major) for the products; returns the packed bytes and the row sums.
    public static func pack(_ w: [Int8], n: Int, k: Int) -> (packed: [Int8], colsums: [Int32]) {
        var packed = [Int8](repeating: 0, count: max(1, packedBytes(n: n, k: k)))
        var sums = [Int32](repeating: 0, count: max(1, n))
        qk_int8_pack(w, n, k, k, &packed, &sums)
        return (packed, Array(sums.prefix(n)))
    }
    /// `c[r, j] = Σ_i a[r, i] w[j, i]` in int32; `a` is `m` rows of `rowBytes(k)` bytes.
    public static func gemmInt32(_ a: [UInt8], packed: [Int8], m: Int, n: Int, k: Int, level: SIMDLevel) -> [Int32] {
        var c = [Int32](repeating: 0, count: max(1, m * n))
        qk_int8_gemm_s32_at(level.cLevel, a, rowBytes(k: k), packed, m, n, k, &c, n)
        return Array(c.prefix(m * n))
    }
    /// `quantizeRows` with the `outliers` channels split off: the row range and rounding see them as 0,
    /// and their values come back unchanged in `xo` (`m x outliers.count`, row-major).
    public static func quantizeRowsSplit(_ x: [Float], m: Int, k: Int, outliers: [Int], level: SIMDLevel)
        -> (q: [UInt8], scales: [Float], zeros: [Int32], xo: [Float]) {
        let rb = rowBytes(k: k), o = outliers.count
        var keep = [Float](repeating: 1, count: max(1, k))
        for c in outliers { keep[c] = 0 }
        let index = outliers.map { Int32($0) } + [0]
        var q = [UInt8](repeating: 0xAA, count: max(1, m * rb))
        var s = [Float](repeating: 0, count: max(1, m)), z = [Int32](repeating: 0, count: max(1, m))
        var xo = [Float](repeating: .nan, count: max(1, m * o))
        qk_int8_quantize_rows_split_at(level.cLevel, x, m, k, k, keep, index, o, &q, rb, &s, &z, &xo, o)
        return (Array(q.prefix(m * rb)), Array(s.prefix(m)), Array(z.prefix(m)), Array(xo.prefix(m * o)))
    }
    /// Quantizes `m` rows of `k` floats to u8: the rows (`rowBytes(k)` bytes each), scales and zero points.
    public static func quantizeRows(_ x: [Float], m: Int, k: Int, level: SIMDLevel) -> (q: [UInt8], scales: [Float], zeros: [Int32]) {
        let rb = rowBytes(k: k)
        var q = [UInt8](repeating: 0xAA, count: max(1, m * rb))
        var s = [Float](repeating: 0, count: max(1, m)), z = [Int32](repeating: 0, count: max(1, m))
        qk_int8_quantize_rows_at(level.cLevel, x, m, k, k, &q, rb, &s, &z)
        return (Array(q.prefix(m * rb)), Array(s.prefix(m)), Array(z.prefix(m)))
    }
}
