import Foundation
import CZlib

/// A bounded reader of ZIP archives held in memory (DOCX, ODT and EPUB are ZIP files): the
/// central directory is parsed once; entries are inflated on demand with their uncompressed size
/// capped per entry and per archive whatever the directory declares (zip bombs end with
/// `DocumentError.limitExceeded`), and their CRC-32 checked.
final class ZipReader {
    struct Entry {
        let name: String
        let method: UInt16
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
        let crc32: UInt32
    }

    let bytes: [UInt8]
    let path: String
    let format: DocumentFormat
    let limits: DocumentLimits
    private(set) var entries: [String: Entry] = [:]
    private(set) var order: [String] = []
    /// Bytes inflated so far (bounded by `limits.maxTotalBytes`).
    private var inflated = 0

    init(bytes: [UInt8], path: String, format: DocumentFormat, limits: DocumentLimits) throws {
        self.bytes = bytes; self.path = path; self.format = format; self.limits = limits
        func fail(_ reason: String) -> DocumentError { .damaged(path: path, format: format.displayName, reason: "ZIP archive: \(reason)") }
        let n = bytes.count
        guard n >= 22 else { throw fail("\(n) bytes, too short for a ZIP archive") }
        var eocd = -1
        var p = n - 22
        let lowest = max(0, n - 22 - 65535)
        while p >= lowest {
            if u32(p) == 0x0605_4B50 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record (truncated?)") }
        let count = Int(u16(eocd + 10)), cdSize = Int(u32(eocd + 12)), cdOffset = Int(u32(eocd + 16))
        if count == 0xFFFF || cdOffset == 0xFFFF_FFFF { throw fail("ZIP64 archives are not read (a document this large is not plausible)") }
        guard count <= limits.maxEntries else {
            throw DocumentError.limitExceeded(path: path, format: format.displayName, what: "the number of ZIP entries (\(count))", limit: limits.maxEntries)
        }
        guard cdOffset <= n, cdSize <= n - cdOffset else { throw fail("central directory lies outside the file (truncated?)") }
        var r = cdOffset
        for i in 0..<count {
            guard r + 46 <= cdOffset + cdSize, u32(r) == 0x0201_4B50 else { throw fail("entry \(i) of the central directory is damaged") }
            let method = u16(r + 10), crc = u32(r + 16)
            let csize = Int(u32(r + 20)), usize = Int(u32(r + 24))
            let nameLength = Int(u16(r + 28)), extraLength = Int(u16(r + 30)), commentLength = Int(u16(r + 32))
            let local = Int(u32(r + 42))
            guard r + 46 + nameLength <= n else { throw fail("entry \(i)'s name runs past the end of the file") }
            let name = String(decoding: bytes[(r + 46)..<(r + 46 + nameLength)], as: UTF8.self)
            guard local < n, csize <= n else { throw fail("entry '\(name)' lies outside the file (truncated?)") }
            if entries[name] == nil {
                entries[name] = Entry(name: name, method: method, compressedSize: csize, size: usize, localHeaderOffset: local, crc32: crc)
                order.append(name)
            }
            r += 46 + nameLength + extraLength + commentLength
        }
    }

    private func u16(_ o: Int) -> UInt16 { o + 2 <= bytes.count ? UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 : 0 }
    private func u32(_ o: Int) -> UInt32 {
        o + 4 <= bytes.count ? UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24 : 0
    }

    /// True when the archive has an entry `name`.
    func has(_ name: String) -> Bool { entries[name] != nil }

    /// The uncompressed bytes of entry `name`, or nil when there is none.
    /// - Throws: `DocumentError.damaged` (corrupt data, CRC mismatch) or `.limitExceeded` (too large).
    func read(_ name: String) throws -> [UInt8]? {
        guard let e = entries[name] else { return nil }
        let path = self.path, format = self.format
        func fail(_ reason: String) -> DocumentError { .damaged(path: path, format: format.displayName, reason: "ZIP entry '\(name)': \(reason)") }
        let h = e.localHeaderOffset
        guard h + 30 <= bytes.count, u32(h) == 0x0403_4B50 else { throw fail("no local header at byte \(h)") }
        let start = h + 30 + Int(u16(h + 26)) + Int(u16(h + 28))
        guard start <= bytes.count, e.compressedSize <= bytes.count - start else { throw fail("data runs past the end of the file (truncated?)") }
        let cap = min(limits.maxEntryBytes, limits.maxTotalBytes - inflated)
        func tooLarge() -> DocumentError {
            .limitExceeded(path: path, format: format.displayName, what: "the uncompressed size of ZIP entry '\(name)'", limit: cap)
        }
        var out: [UInt8]
        switch e.method {
        case 0:
            guard e.compressedSize <= cap else { throw tooLarge() }
            out = Array(bytes[start..<(start + e.compressedSize)])
        case 8:
            out = try inflate(start: start, count: e.compressedSize, cap: cap, fail: fail, tooLarge: tooLarge)
        default:
            throw fail("compression method \(e.method) is not supported (only stored and deflated)")
        }
        inflated += out.count
        let crc = out.withUnsafeBufferPointer { UInt32(truncatingIfNeeded: crc32(0, $0.baseAddress, uInt($0.count))) }
        guard crc == e.crc32 else { throw fail(String(format: "CRC-32 is %08x, the directory says %08x", crc, e.crc32)) }
        return out
    }

    private func inflate(start: Int, count: Int, cap: Int, fail: (String) -> DocumentError, tooLarge: () -> DocumentError) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw fail("zlib inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        let step = 1 << 16
        var buffer = [UInt8](repeating: 0, count: step)
        return try bytes.withUnsafeBufferPointer { input -> [UInt8] in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + start)
            stream.avail_in = uInt(count)
            while true {
                let (status, produced) = buffer.withUnsafeMutableBufferPointer { b -> (Int32, Int) in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(step)
                    let s = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (s, step - Int(stream.avail_out))
                }
                if out.count + produced > cap { throw tooLarge() }
                out.append(contentsOf: buffer[0..<produced])
                if status == Z_STREAM_END { return out }
                guard status == Z_OK || status == Z_BUF_ERROR else { throw fail("deflate data is corrupt (zlib status \(status))") }
                if produced == 0 && stream.avail_in == 0 { throw fail("deflate stream is truncated") }
                if produced == 0 && status == Z_BUF_ERROR { throw fail("deflate stream is truncated") }
            }
        }
    }
}
