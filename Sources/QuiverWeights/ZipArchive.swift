import Foundation

/// A read-only ZIP archive over a mapped file: the central directory (with ZIP64 extensions)
/// is parsed once; stored entries are returned as views into the mapping, without copying.
/// Compressed entries are reported, not inflated: `torch.save` always stores.
struct ZipArchive {
    struct Entry {
        let name: String
        /// 0 = stored, 8 = deflated, ...
        let method: UInt16
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

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
            try r.skip(8, "time and CRC")
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
                                  size: Int(min(usize, UInt64(Int.max))), localHeaderOffset: Int(local))
            order.append(name)
        }
        self.entries = entries
        self.order = order
    }

    /// The bytes of a stored entry, as a view into the mapping.
    /// - Throws: `WeightsError.malformed` for a missing, compressed or out-of-bounds entry.
    func data(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let e = entries[name] else { throw WeightsError.malformed(path: path, reason: "ZIP archive has no entry '\(name)'") }
        return try data(e)
    }

    func data(_ e: Entry) throws -> UnsafeRawBufferPointer {
        let path = self.path
        func fail(_ reason: String) -> WeightsError { .malformed(path: path, reason: "ZIP entry '\(e.name)': \(reason)") }
        guard e.method == 0 else {
            let m = e.method == 8 ? "deflate" : "method \(e.method)"
            throw fail("is compressed (\(m)); Quiver reads only stored (uncompressed) entries, as torch.save writes them — re-save the checkpoint with torch.save")
        }
        guard e.compressedSize == e.size else { throw fail("stored entry with compressed size \(e.compressedSize) ≠ size \(e.size)") }
        var h = ByteReader(path: path, bytes: try file.bytes(e.localHeaderOffset, min(30, file.count - e.localHeaderOffset)), fileOffset: e.localHeaderOffset)
        guard try h.u32("local header signature") == 0x0403_4B50 else { throw fail("no local header at byte \(e.localHeaderOffset)") }
        try h.skip(22, "local header")
        let n = Int(try h.u16("local name length")), x = Int(try h.u16("local extra length"))
        let start = e.localHeaderOffset + 30 + n + x
        guard start <= file.count, e.size <= file.count - start else {
            throw fail("data (\(e.size) bytes at \(start)) runs past the end of the file (\(file.count) bytes)")
        }
        return try file.bytes(start, e.size)
    }
}
