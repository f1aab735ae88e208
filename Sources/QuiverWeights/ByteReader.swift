import Foundation

/// A bounds-checked little-endian reader over a byte range of a checkpoint. Every read checks
/// the remaining length first, so a truncated or hostile file yields `WeightsError.malformed`
/// naming the file, the field and the byte offset.
struct ByteReader {
    let path: String
    let bytes: UnsafeRawBufferPointer
    /// Offset of `bytes` in the file, for messages.
    let fileOffset: Int
    /// Current position within `bytes`.
    var position: Int = 0

    init(path: String, bytes: UnsafeRawBufferPointer, fileOffset: Int = 0) {
        self.path = path; self.bytes = bytes; self.fileOffset = fileOffset
    }

    var remaining: Int { bytes.count - position }
    var atEnd: Bool { position >= bytes.count }
    /// Absolute file offset of the current position.
    var offset: Int { fileOffset + position }

    func fail(_ reason: String) -> WeightsError { .malformed(path: path, reason: reason) }

    /// Checks that `count` bytes remain for `field`.
    func require(_ count: Int, _ field: String) throws {
        guard count >= 0, count <= remaining else {
            throw fail("\(field) at byte \(offset) needs \(count) bytes, only \(max(remaining, 0)) remain (truncated or corrupt file)")
        }
    }

    mutating func skip(_ count: Int, _ field: String) throws {
        try require(count, field); position += count
    }

    mutating func u8(_ field: String) throws -> UInt8 {
        try require(1, field); defer { position += 1 }
        return bytes[position]
    }

    mutating func u16(_ field: String) throws -> UInt16 {
        try require(2, field); defer { position += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    mutating func u32(_ field: String) throws -> UInt32 {
        try require(4, field); defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func u64(_ field: String) throws -> UInt64 {
        try require(8, field); defer { position += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// `count` bytes as a sub-buffer (no copy).
    mutating func slice(_ count: Int, _ field: String) throws -> UnsafeRawBufferPointer {
        try require(count, field); defer { position += count }
        guard let base = bytes.baseAddress else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + position, count: count)
    }

    /// `count` bytes decoded as UTF-8.
    mutating func utf8(_ count: Int, _ field: String) throws -> String {
        let at = offset
        let raw = try slice(count, field)
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail("\(field) at byte \(at) is not valid UTF-8") }
        return s
    }
}

extension UnsafeRawBufferPointer {
    /// Reads a little-endian integer at `offset` (caller checked bounds).
    func le<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
