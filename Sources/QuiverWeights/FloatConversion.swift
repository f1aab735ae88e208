import Foundation

/// Conversions of checkpoint element types to float32.
public enum FloatConversion {
    /// IEEE half → float, exact (subnormals, infinities and NaN kept).
    @inline(__always)
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        var mant = UInt32(h & 0x03FF)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            var e: UInt32 = 113  // 127 - 15 + 1
            while mant & 0x0400 == 0 { mant <<= 1; e -= 1 }
            mant &= 0x03FF
            return Float(bitPattern: sign | (e << 23) | (mant << 13))
        }
        if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }

    /// Every half value widened, indexed by its bits (256 KB, built on first use): one load per
    /// element instead of the branches of `halfToFloat`.
    static let halfTable: [Float] = (0...0xFFFF).map { halfToFloat(UInt16($0)) }

    /// One element of `dtype` at `src` (any alignment) as float.
    @inline(__always)
    static func element(_ src: UnsafeRawPointer, _ dtype: WeightDType) -> Float {
        switch dtype {
        case .float32: return src.loadUnaligned(as: Float.self)
        case .float16: return halfTable[Int(src.loadUnaligned(as: UInt16.self))]
        case .bfloat16: return bfloat16ToFloat(src.loadUnaligned(as: UInt16.self))
        case .float64: return Float(src.loadUnaligned(as: Double.self))
        case .int64: return Float(src.loadUnaligned(as: Int64.self))
        case .int32: return Float(src.loadUnaligned(as: Int32.self))
        case .int16: return Float(src.loadUnaligned(as: Int16.self))
        case .int8: return Float(src.load(as: Int8.self))
        case .uint8, .bool: return Float(src.load(as: UInt8.self))
        }
    }

    /// `count` elements of `dtype` starting at `src`, `strideBytes` apart, into `dst` (contiguous).
    public static func gather(_ src: UnsafeRawPointer, dtype: WeightDType, count: Int, strideBytes: Int, into dst: UnsafeMutablePointer<Float>) {
        if strideBytes == dtype.byteSize { _ = convert(src, dtype: dtype, count: count, into: dst); return }
        for i in 0..<count { dst[i] = element(src + i * strideBytes, dtype) }
    }

    /// bfloat16 → float (the upper half of a float's bits).
    @inline(__always)
    public static func bfloat16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Converts `count` elements of `dtype` at `src` (any alignment, little-endian) into `dst`.
    /// Returns false for a type that is not numeric.
    public static func convert(_ src: UnsafeRawPointer, dtype: WeightDType, count: Int, into dst: UnsafeMutablePointer<Float>) -> Bool {
        switch dtype {
        case .float32:
            memcpy(dst, src, count * 4)
        case .float16:
            halfTable.withUnsafeBufferPointer { table in
                for i in 0..<count { dst[i] = table[Int(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))] }
            }
        case .bfloat16:
            for i in 0..<count { dst[i] = bfloat16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .float64:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case .int64:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        case .int32:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .int16:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case .int8:
            for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .uint8, .bool:
            for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        }
        return true
    }
}
