/// Finds the EXIF orientation tag (0x0112 in IFD0) the way Pillow's `getexif()` does: the first
/// JPEG APP1 "Exif" segment, the PNG eXIf chunk, or the WebP "EXIF" chunk. Any malformed or
/// missing structure yields 1 (no transform); reading never goes outside the buffer.
enum EXIFOrientation {
    static func read(from bytes: UnsafeBufferPointer<UInt8>, format: ImageFormat) -> Int {
        switch format {
        case .jpeg: return jpeg(bytes)
        case .png: return png(bytes)
        case .webp: return webp(bytes)
        case .gif: return 1
        }
    }

    private static func be16(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
    private static func be32(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int { be16(b, i) << 16 | be16(b, i + 2) }
    private static func le32(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24
    }

    private static func jpeg(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        var i = 2
        while i + 4 <= b.count {
            guard b[i] == 0xFF else { return 1 }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return 1 }  // start of scan / end: no Exif before the data
            let length = be16(b, i + 2)
            guard length >= 2, i + 2 + length <= b.count else { return 1 }
            let start = i + 4, end = i + 2 + length
            if marker == 0xE1, end - start >= 6,
               b[start] == 0x45, b[start + 1] == 0x78, b[start + 2] == 0x69, b[start + 3] == 0x66,
               b[start + 4] == 0, b[start + 5] == 0 {
                return tiff(b, start + 6, end)
            }
            i = end
        }
        return 1
    }

    private static func png(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        var i = 8
        while i + 12 <= b.count {
            let length = be32(b, i)
            let type = (b[i + 4], b[i + 5], b[i + 6], b[i + 7])
            guard length >= 0, i + 12 + length <= b.count else { return 1 }
            if type == (0x65, 0x58, 0x49, 0x66) {  // "eXIf"
                return tiffSkippingExifHeader(b, i + 8, i + 8 + length)
            }
            if type == (0x49, 0x45, 0x4E, 0x44) { return 1 }  // IEND
            i += 12 + length
        }
        return 1
    }

    private static func webp(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        var i = 12
        while i + 8 <= b.count {
            let size = le32(b, i + 4)
            guard size >= 0, i + 8 + size <= b.count else { return 1 }
            if b[i] == 0x45, b[i + 1] == 0x58, b[i + 2] == 0x49, b[i + 3] == 0x46 {  // "EXIF"
                return tiffSkippingExifHeader(b, i + 8, i + 8 + size)
            }
            i += 8 + size + (size & 1)
        }
        return 1
    }

    /// Pillow accepts EXIF payloads with or without the JPEG-style "Exif\0\0" prefix.
    private static func tiffSkippingExifHeader(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        if end - start >= 6, b[start] == 0x45, b[start + 1] == 0x78, b[start + 2] == 0x69, b[start + 3] == 0x66,
           b[start + 4] == 0, b[start + 5] == 0 {
            return tiff(b, start + 6, end)
        }
        return tiff(b, start, end)
    }

    /// Reads tag 0x0112 (SHORT) from IFD0 of the TIFF structure in b[start..<end].
    private static func tiff(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        guard end - start >= 8 else { return 1 }
        let little: Bool
        if b[start] == 0x49 && b[start + 1] == 0x49 { little = true }
        else if b[start] == 0x4D && b[start + 1] == 0x4D { little = false }
        else { return 1 }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, start + o + 2 <= end else { return nil }
            let p = start + o
            return little ? Int(b[p]) | Int(b[p + 1]) << 8 : Int(b[p]) << 8 | Int(b[p + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let c = u16(o + 2) else { return nil }
            return little ? a | c << 16 : a << 16 | c
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return 1 }
        for entry in 0..<count {
            let e = ifd + 2 + entry * 12
            guard let tag = u16(e) else { return 1 }
            if tag == 0x0112 {
                guard let type = u16(e + 2), let value = u16(e + 8) else { return 1 }
                if type == 3 { return value }
                if type == 4, let v32 = u32(e + 8) { return v32 }
                return 1
            }
        }
        return 1
    }
}
