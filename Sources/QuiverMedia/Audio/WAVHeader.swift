import Foundation

/// The length a RIFF/WAVE header declares. FFmpeg's WAV demuxer clamps the stream length to the
/// file size, so a truncated WAV decodes silently short; `AudioReader` compares this declared
/// length with what was decoded to report `MediaError.truncatedMedia`.
enum WAVHeader {
    /// Seconds of audio the `data` chunk declares (its size / block align / sample rate), or nil
    /// when the file is not a plain RIFF/WAVE file or the size is a streaming placeholder
    /// (0 or 0xFFFFFFFF, as written by recorders that cannot seek back).
    static func declaredSeconds(of url: URL) -> Double? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 1 << 16), head.count >= 12 else { return nil }
        let b = [UInt8](head)
        func u32(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 }
        func u16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        guard b[0..<4].elementsEqual(Array("RIFF".utf8)), b[8..<12].elementsEqual(Array("WAVE".utf8)) else { return nil }
        var offset = 12
        var rate = 0, blockAlign = 0
        while offset + 8 <= b.count {
            let id = String(decoding: b[offset..<(offset + 4)], as: UTF8.self)
            let size = u32(offset + 4)
            let body = offset + 8
            if id == "fmt ", body + 16 <= b.count {
                rate = u32(body + 4)
                blockAlign = u16(body + 12)
            } else if id == "data" {
                guard size != 0, size != 0xFFFF_FFFF, rate > 0, blockAlign > 0 else { return nil }
                return Double(size / blockAlign) / Double(rate)
            }
            offset = body + size + (size & 1)
        }
        return nil
    }
}
