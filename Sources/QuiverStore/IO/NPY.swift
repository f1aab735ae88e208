import Foundation

/// A 2-D float32 matrix read from or written to a NumPy `.npy` file, row-major.
public struct NPYMatrix: Sendable, Equatable {
    /// Number of rows (vectors).
    public var rows: Int
    /// Number of columns (dimension).
    public var columns: Int
    /// `rows * columns` values, row-major.
    public var values: [Float]

    /// A matrix; traps unless `values.count == rows * columns`.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "NPYMatrix: \(values.count) values for \(rows)x\(columns)")
        self.rows = rows; self.columns = columns; self.values = values
    }

    /// Row `i` as an array of `columns` floats; traps when `i` is out of range.
    public func row(_ i: Int) -> [Float] { Array(values[(i * columns)..<((i + 1) * columns)]) }
}

/// Reader and writer of NumPy `.npy` files (format versions 1, 2 and 3).
///
/// Reads 2-D C-order little-endian arrays of float32 (`<f4`), float64 (`<f8`) or float16 (`<f2`),
/// converting to float32. Anything else (big-endian, Fortran order, other dtypes, other ranks,
/// truncated data) is a `StoreError.invalidNPY` naming the file and the header field at fault.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Reads `path` as a float32 matrix (memory-mapped while parsing; the result owns its values).
    /// - Throws: `StoreError.invalidNPY` naming the file and the header field (`file`, `magic`,
    ///   `version`, `header`, `descr`, `fortran_order`, `shape`, `data`) at fault.
    public static func read(path: String) throws -> NPYMatrix {
        let region: MappedRegion
        do { region = try MappedRegion(path: path) } catch {
            throw StoreError.invalidNPY(path: path, field: "file", reason: "cannot open: \(errnoText())")
        }
        return try parse(region.bytes, path: path)
    }

    /// Parses NPY bytes; `path` is used in error messages.
    /// - Parameters:
    ///   - b: the whole file's bytes.
    ///   - path: the name to show in errors.
    /// - Returns: the matrix, float64 and float16 data converted to float32.
    /// - Throws: `StoreError.invalidNPY` as ``read(path:)``.
    public static func parse(_ b: UnsafeRawBufferPointer, path: String) throws -> NPYMatrix {
        let l = try layout(b, path: path)
        var values = [Float](repeating: 0, count: l.rows * l.columns)
        values.withUnsafeMutableBufferPointer { l.convert(b, rows: 0..<l.rows, into: $0) }
        return NPYMatrix(rows: l.rows, columns: l.columns, values: values)
    }

    /// Where the values of an NPY file are and how they are stored.
    struct Layout: Sendable {
        var rows: Int, columns: Int
        /// Bytes per value: 4 (float32), 8 (float64) or 2 (float16).
        var width: Int
        /// Offset of the first value.
        var dataStart: Int

        /// Converts `rows` of the file's bytes `b` to float32 into `out` (`rows.count * columns` values).
        func convert(_ b: UnsafeRawBufferPointer, rows r: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) {
            let count = r.count * columns
            guard count > 0 else { return }
            let src = b.baseAddress! + dataStart + r.lowerBound * columns * width
            switch width {
            case 4: memcpy(out.baseAddress!, src, count * 4)
            case 8: for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            default: for i in 0..<count { out[i] = Half.toFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            }
        }
    }

    /// Reads and checks the header of NPY bytes.
    static func layout(_ b: UnsafeRawBufferPointer, path: String) throws -> Layout {
        guard b.count >= 10, Array(b[0..<6]) == magic else {
            throw StoreError.invalidNPY(path: path, field: "magic", reason: "not an NPY file (no \\x93NUMPY signature)")
        }
        let major = b[6]
        let headerLen: Int, headerStart: Int
        switch major {
        case 1: headerLen = Int(b[8]) | Int(b[9]) << 8; headerStart = 10
        case 2, 3:
            guard b.count >= 12 else { throw StoreError.invalidNPY(path: path, field: "header", reason: "truncated") }
            headerLen = Int(b.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian); headerStart = 12
        default: throw StoreError.invalidNPY(path: path, field: "version", reason: "format version \(major).\(b[7]) is not supported (1, 2 or 3)")
        }
        guard headerStart + headerLen <= b.count else {
            throw StoreError.invalidNPY(path: path, field: "header", reason: "header of \(headerLen) bytes runs past the end of the file")
        }
        let header = String(decoding: UnsafeRawBufferPointer(rebasing: b[headerStart..<(headerStart + headerLen)]), as: UTF8.self)
        guard let descr = dictValue(header, "descr") else {
            throw StoreError.invalidNPY(path: path, field: "descr", reason: "missing from header \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let d = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        let width: Int
        switch d {
        case "<f4", "=f4", "f4": width = 4
        case "<f8", "=f8", "f8": width = 8
        case "<f2", "=f2", "f2": width = 2
        case ">f4", ">f8", ">f2":
            throw StoreError.invalidNPY(path: path, field: "descr", reason: "'\(d)' is big-endian; save the array as little-endian ('<f4')")
        default:
            throw StoreError.invalidNPY(path: path, field: "descr", reason: "dtype '\(d)' is not a float; expected float32 '<f4' (float64 and float16 are converted)")
        }
        if let fo = dictValue(header, "fortran_order"), fo.trimmingCharacters(in: .whitespaces) != "False" {
            throw StoreError.invalidNPY(path: path, field: "fortran_order", reason: "the array is in Fortran order; save it C-contiguous (np.ascontiguousarray)")
        }
        guard let shapeText = dictValue(header, "shape") else {
            throw StoreError.invalidNPY(path: path, field: "shape", reason: "missing from header")
        }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = dims.compactMap { Int($0) }
        guard shape.count == dims.count else {
            throw StoreError.invalidNPY(path: path, field: "shape", reason: "cannot read shape \(shapeText)")
        }
        if let negative = shape.first(where: { $0 < 0 }) {
            throw StoreError.invalidNPY(path: path, field: "shape", reason: "a dimension is negative (\(negative)) in \(shapeText)")
        }
        guard shape.count == 2 else {
            throw StoreError.invalidNPY(path: path, field: "shape", reason: "expected a 2-D array (vectors x dimension), got shape (\(dims.joined(separator: ", ")))")
        }
        let (rows, cols) = (shape[0], shape[1])
        let dataStart = headerStart + headerLen
        let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
        let (bytes, overflow2) = count.multipliedReportingOverflow(by: width)
        guard !overflow, !overflow2, bytes <= b.count - dataStart else {
            let need = overflow || overflow2 ? "more than \(Int.max)" : "\(bytes)"
            throw StoreError.invalidNPY(path: path, field: "data", reason: "shape (\(rows), \(cols)) needs \(need) bytes of \(d) but the file holds \(b.count - dataStart)")
        }
        return Layout(rows: rows, columns: cols, width: width, dataStart: dataStart)
    }

    /// Writes `matrix` as a version 1.0 `<f4` C-order file, atomically.
    ///
    /// The header is padded to a multiple of 64 bytes as NumPy does; `numpy.load` reads the file.
    /// The file is written under a temporary name, fsync'd and renamed over `path`.
    /// - Throws: `StoreError.io` when the file cannot be written.
    public static func write(_ matrix: NPYMatrix, to path: String) throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(matrix.rows), \(matrix.columns)), }"
        // magic(6) + version(2) + len(2) + header + '\n' padded to a multiple of 64.
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var w = ByteWriter(capacity: 10 + header.utf8.count + matrix.values.count * 4)
        w.raw(magic); w.u8(1); w.u8(0)
        let hl = UInt16(header.utf8.count)
        w.u8(UInt8(hl & 0xFF)); w.u8(UInt8(hl >> 8))
        w.raw(Array(header.utf8))
        w.floats(matrix.values)
        try FileOps.atomicWrite(w.bytes, to: path)
    }

    /// The text of `key`'s value in a Python dict literal (`'shape': (3, 4)` → `(3, 4)`).
    static func dictValue(_ header: String, _ key: String) -> String? {
        for quote in ["'", "\""] {
            guard let r = header.range(of: "\(quote)\(key)\(quote)") else { continue }
            var rest = header[r.upperBound...].drop(while: { $0 == " " })
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop(while: { $0 == " " })
            if rest.first == "(" {
                guard let close = rest.firstIndex(of: ")") else { return nil }
                return String(rest[rest.startIndex...close])
            }
            if let q = rest.first, q == "'" || q == "\"" {
                let body = rest.dropFirst()
                guard let end = body.firstIndex(of: q) else { return nil }
                return String(body[body.startIndex..<end])
            }
            let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
            return String(rest[rest.startIndex..<end])
        }
        return nil
    }
}

/// IEEE 754 binary16 conversions.
enum Half {
    /// half → float, exact (subnormals, infinities, NaN kept).
    static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        var mant = UInt32(h & 0x03FF)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            var e: UInt32 = 113
            while mant & 0x0400 == 0 { mant <<= 1; e -= 1 }
            mant &= 0x03FF
            return Float(bitPattern: sign | (e << 23) | (mant << 13))
        }
        if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }

    /// float → half, rounding to nearest even; out-of-range values become infinity.
    static func fromFloat(_ f: Float) -> UInt16 {
        let b = f.bitPattern
        let sign = UInt16((b >> 16) & 0x8000)
        let exp = Int((b >> 23) & 0xFF)
        let mant = b & 0x7F_FFFF
        if exp == 0xFF { return sign | 0x7C00 | (mant != 0 ? 0x200 : 0) }
        let e = exp - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            let m = mant | 0x80_0000
            let shift = UInt32(14 - e)
            var h = m >> shift
            let rem = m & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rem > halfway || (rem == halfway && (h & 1) == 1) { h += 1 }
            return sign | UInt16(h)
        }
        var h = UInt32(e) << 10 | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }
        return sign | UInt16(h)
    }

    /// `f` rounded to the nearest half-precision value.
    static func round(_ f: Float) -> Float { toFloat(fromFloat(f)) }
}

/// An NPY file opened for reading a few rows at a time: memory-mapped, so only the rows asked
/// for are copied (what `quiver import` uses to stream a file of any size).
public final class NPYFile: @unchecked Sendable {
    /// Number of rows (vectors).
    public let rows: Int
    /// Number of columns (dimension).
    public let columns: Int
    private let region: MappedRegion
    private let layout: NPY.Layout

    /// Opens and checks `path` (the header as ``NPY/read(path:)`` checks it; the data is read on demand).
    /// - Throws: `StoreError.invalidNPY` as ``NPY/read(path:)``.
    public init(path: String) throws {
        do { region = try MappedRegion(path: path) } catch {
            throw StoreError.invalidNPY(path: path, field: "file", reason: "cannot open: \(errnoText())")
        }
        layout = try NPY.layout(region.bytes, path: path)
        rows = layout.rows; columns = layout.columns
    }

    /// Rows `r` as float32 vectors; traps when `r` is out of `0..<rows`.
    public func vectors(_ r: Range<Int>) -> [[Float]] {
        precondition(r.lowerBound >= 0 && r.upperBound <= rows, "NPYFile: rows \(r) of \(rows)")
        return r.map { i in
            [Float](unsafeUninitializedCapacity: columns) { out, n in
                layout.convert(region.bytes, rows: i..<(i + 1), into: out)
                n = columns
            }
        }
    }
}
