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
            for i in 0..<count { dst[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
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
