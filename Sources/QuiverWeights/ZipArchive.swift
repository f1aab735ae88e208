import Foundation
import CZlib

/// A read-only ZIP archive over a mapped file: the central directory (with ZIP64 extensions)
/// is parsed once; stored entries are returned as views into the mapping, without copying
/// (`torch.save` always stores). Deflated entries (an archive re-zipped by another tool) are
/// inflated into memory on demand, their size bounded by deflate's maximum ratio and their
/// CRC-32 checked.
struct ZipArchive: Sendable {
    struct Entry: Sendable {
        let name: String
        /// 0 = stored, 8 = deflated, ...
        let method: UInt16
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
        let crc32: UInt32
    }

    /// Deflate cannot expand data by more than about 1032:1; a larger declared size is a lie (or a bomb).
    static let maxDeflateRatio = 1032

    /// Most entries accepted (a state dict with a million tensors is not plausible).
    static let maxEntries = 1_000_000

    let file: MappedFile
    let entries: [String: Entry]
    /// Entry names in central-directory order.
    let order: [String]

    var path: String { file.path }

    init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        func fail(_ reason: String) -> WeightsError { .malformed(path: path, reason: "ZIP archive: \(reason)") }
        let all = try file.bytes(0, file.count)
        // End of central directory: 22 bytes + comment of at most 65535, searched from the end.
        guard file.count >= 22 else { throw fail("file is \(file.count) bytes, too short for an end-of-central-directory record") }
        var eocd = -1
        var p = file.count - 22
        let lowest = max(0, file.count - 22 - 65535)
        while p >= lowest {
            if all.le(p, as: UInt32.self) == 0x0605_4B50 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record (not a ZIP file, or truncated)") }
        var count = Int(all.le(eocd + 10, as: UInt16.self))
        var cdSize = Int(all.le(eocd + 12, as: UInt32.self))
        var cdOffset = Int(all.le(eocd + 16, as: UInt32.self))
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64 locator sits just before the EOCD record.
            guard eocd >= 20, all.le(eocd - 20, as: UInt32.self) == 0x0706_4B50 else {
                throw fail("ZIP64 sizes announced but no ZIP64 end-of-central-directory locator")
            }
            let recordOffset = all.le(eocd - 20 + 8, as: UInt64.self)
            guard file.count >= 56, recordOffset <= UInt64(file.count - 56), all.le(Int(recordOffset), as: UInt32.self) == 0x0606_4B50 else {
                throw fail("ZIP64 end-of-central-directory record offset \(recordOffset) is invalid")
            }
            let r = Int(recordOffset)
            let c64 = all.le(r + 32, as: UInt64.self), s64 = all.le(r + 40, as: UInt64.self), o64 = all.le(r + 48, as: UInt64.self)
            guard c64 <= UInt64(Self.maxEntries), s64 <= UInt64(file.count), o64 <= UInt64(file.count) else {
                throw fail("ZIP64 record declares \(c64) entries, directory of \(s64) bytes at \(o64): larger than the file")
            }
            count = Int(c64); cdSize = Int(s64); cdOffset = Int(o64)
        }
        guard cdOffset <= file.count, cdSize <= file.count - cdOffset else {
            throw fail("central directory (\(cdSize) bytes at \(cdOffset)) lies outside the file (\(file.count) bytes)")
        }
        guard count <= cdSize / 46 else { throw fail("\(count) entries cannot fit a central directory of \(cdSize) bytes") }
        var r = ByteReader(path: path, bytes: try file.bytes(cdOffset, cdSize), fileOffset: cdOffset)
        var entries: [String: Entry] = [:]
        var order: [String] = []
        entries.reserveCapacity(count); order.reserveCapacity(count)
        for i in 0..<count {
            let at = r.offset
            guard try r.u32("central directory signature") == 0x0201_4B50 else { throw fail("entry \(i) at byte \(at) has no central-directory signature") }
            try r.skip(6, "central directory header")
            let method = try r.u16("compression method")
            try r.skip(4, "time")
            let crc = try r.u32("CRC-32")
            var csize = UInt64(try r.u32("compressed size"))
            var usize = UInt64(try r.u32("uncompressed size"))
            let nameLength = Int(try r.u16("name length"))
            let extraLength = Int(try r.u16("extra length"))
            let commentLength = Int(try r.u16("comment length"))
            try r.skip(8, "disk and attributes")
            var local = UInt64(try r.u32("local header offset"))
            let name = try r.utf8(nameLength, "entry name")
            var extra = ByteReader(path: path, bytes: try r.slice(extraLength, "extra field"), fileOffset: r.offset - extraLength)
            while extra.remaining >= 4 {
                let id = try extra.u16("extra id"), size = Int(try extra.u16("extra size"))
                var field = ByteReader(path: path, bytes: try extra.slice(size, "extra data"), fileOffset: extra.offset - size)
                if id == 0x0001 {  // ZIP64: only the fields that were saturated, in this order.
                    if usize == 0xFFFF_FFFF { usize = try field.u64("ZIP64 uncompressed size") }
                    if csize == 0xFFFF_FFFF { csize = try field.u64("ZIP64 compressed size") }
                    if local == 0xFFFF_FFFF { local = try field.u64("ZIP64 local header offset") }
                }
            }
            try r.skip(commentLength, "entry comment")
            guard csize <= UInt64(file.count), usize <= UInt64(file.count) || method != 0, local <= UInt64(file.count) else {
                throw fail("entry '\(name)' declares sizes \(csize)/\(usize) at \(local), beyond the file (\(file.count) bytes)")
            }
            guard entries[name] == nil else { throw fail("entry '\(name)' appears twice") }
            entries[name] = Entry(name: name, method: method, compressedSize: Int(csize),
                                  size: Int(min(usize, UInt64(Int.max))), localHeaderOffset: Int(local), crc32: crc)
            order.append(name)
        }
        self.entries = entries
        self.order = order
    }

    /// An entry's bytes as (file, offset, length): a view into the archive's mapping for a stored
    /// entry, a new in-memory file for a deflated one.
    func contents(_ e: Entry) throws -> (file: MappedFile, offset: Int, length: Int) {
        if e.method == 8 { return (try inflate(e), 0, e.size) }
        let bytes = try data(e)
        return (file, bytes.baseAddress.map { $0 - file.base! } ?? 0, bytes.count)
    }

    /// The raw bytes of an entry as stored (compressed or not), after its local header.
    private func payload(_ e: Entry) throws -> UnsafeRawBufferPointer {
        let path = self.path
        func fail(_ reason: String) -> WeightsError { .malformed(path: path, reason: "ZIP entry '\(e.name)': \(reason)") }
        var h = ByteReader(path: path, bytes: try file.bytes(e.localHeaderOffset, min(30, file.count - e.localHeaderOffset)), fileOffset: e.localHeaderOffset)
        guard try h.u32("local header signature") == 0x0403_4B50 else { throw fail("no local header at byte \(e.localHeaderOffset)") }
        try h.skip(22, "local header")
        let n = Int(try h.u16("local name length")), x = Int(try h.u16("local extra length"))
        let start = e.localHeaderOffset + 30 + n + x
        guard start <= file.count, e.compressedSize <= file.count - start else {
            throw fail("data (\(e.compressedSize) bytes at \(start)) runs past the end of the file (\(file.count) bytes)")
        }
        return try file.bytes(start, e.compressedSize)
    }

    /// Inflates a deflated entry into memory, checking its size against deflate's maximum ratio
    /// before allocating, and its length and CRC-32 after.
    func inflate(_ e: Entry) throws -> MappedFile {
        let path = self.path
        func fail(_ reason: String) -> WeightsError { .malformed(path: path, reason: "ZIP entry '\(e.name)': \(reason)") }
        guard e.method == 8 else { throw fail("is not deflated (method \(e.method))") }
        let input = try payload(e)
        let (limit, o) = e.compressedSize.multipliedReportingOverflow(by: Self.maxDeflateRatio)
        guard !o, e.size <= limit + 1024 else {
            throw fail("declares \(e.size) bytes inflated from \(e.compressedSize) compressed, beyond deflate's maximum ratio (corrupt, or a zip bomb)")
        }
        return try MappedFile(path: path, count: e.size) { out in
            var stream = z_stream()
            guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw fail("zlib inflateInit2 failed") }
            defer { inflateEnd(&stream) }
            var produced = 0, consumed = 0
            // zlib counts in UInt32: feed and drain in chunks of at most 1 GB.
            while true {
                let inChunk = min(input.count - consumed, 1 << 30), outChunk = min(out.count - produced, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress.map { $0.assumingMemoryBound(to: Bytef.self) + consumed })
                stream.avail_in = uInt(inChunk)
                stream.next_out = out.baseAddress.map { $0.assumingMemoryBound(to: Bytef.self) + produced }
                stream.avail_out = uInt(outChunk)
                let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                let read = inChunk - Int(stream.avail_in), written = outChunk - Int(stream.avail_out)
                consumed += read; produced += written
                if status == Z_STREAM_END { break }
                guard status == Z_OK || status == Z_BUF_ERROR else { throw fail("deflate data is corrupt (zlib status \(status))") }
                if read == 0 && written == 0 {
                    throw fail(produced == out.count ? "inflates to more than the declared \(e.size) bytes" : "deflate stream is truncated")
                }
            }
            guard produced == e.size else { throw fail("inflates to \(produced) bytes, the directory declares \(e.size)") }
            var crc: uLong = 0, done = 0
            while done < produced {
                let n = min(produced - done, 1 << 30)
                crc = crc32(crc, out.baseAddress!.assumingMemoryBound(to: Bytef.self) + done, uInt(n))
                done += n
            }
            guard UInt32(truncatingIfNeeded: crc) == e.crc32 else {
                throw fail(String(format: "CRC-32 is %08x, the directory declares %08x", UInt32(truncatingIfNeeded: crc), e.crc32))
            }
        }
    }

    /// The bytes of a stored entry, as a view into the mapping.
    /// - Throws: `WeightsError.malformed` for a missing, compressed or out-of-bounds entry.
    func data(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let e = entries[name] else { throw WeightsError.malformed(path: path, reason: "ZIP archive has no entry '\(name)'") }
        return try data(e)
    }

    func data(_ e: Entry) throws -> UnsafeRawBufferPointer {
        guard e.method == 0 else {
            throw WeightsError.malformed(path: path, reason: "ZIP entry '\(e.name)' is compressed (method \(e.method)); Quiver reads stored and deflated entries only")
        }
        guard e.compressedSize == e.size else {
            throw WeightsError.malformed(path: path, reason: "ZIP entry '\(e.name)': stored entry with compressed size \(e.compressedSize) ≠ size \(e.size)")
        }
        return try payload(e)
    }
}
