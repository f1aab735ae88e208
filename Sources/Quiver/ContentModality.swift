import Foundation

/// The kind of content a file holds, as `quiver ingest` routes it to a model.
public enum ContentModality: String, Sendable, Codable, CaseIterable {
    case text, image, audio, video

    /// Detects the kind of `header` (the first bytes of a file; 64 KiB are plenty) from its magic
    /// bytes, with `pathExtension` (lowercased or not, without the dot) as the tiebreak where a
    /// container holds either kind (Ogg, MP4 `isom`/`mp42`, Matroska).
    ///
    /// Images: JPEG, PNG, GIF, WebP. Audio: RIFF/WAVE, FLAC, Ogg, ID3 or an MPEG/ADTS audio frame,
    /// MP4 with an `M4A`/`M4B` brand. Video: MP4/QuickTime (`ftyp`), Matroska/WebM, AVI.
    /// Text: valid UTF-8 without NUL bytes (a multi-byte sequence cut at the end of `header` is allowed).
    /// - Returns: nil for anything else (an empty file is nil too).
    public static func detect(header: Data, pathExtension: String = "") -> ContentModality? {
        let b = [UInt8](header.prefix(1 << 16))
        let ext = pathExtension.lowercased()
        func at(_ offset: Int, _ s: String) -> Bool {
            let m = Array(s.utf8)
            return b.count >= offset + m.count && Array(b[offset..<offset + m.count]) == m
        }
        guard !b.isEmpty else { return nil }
        if b.count >= 3, b[0] == 0xFF, b[1] == 0xD8, b[2] == 0xFF { return .image }
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .image }
        if at(0, "GIF87a") || at(0, "GIF89a") { return .image }
        if at(0, "RIFF") {
            if at(8, "WEBP") { return .image }
            if at(8, "WAVE") { return .audio }
            if at(8, "AVI ") { return .video }
            return nil
        }
        if at(0, "fLaC") || at(0, "ID3") { return .audio }
        if at(0, "OggS") { return ["ogv", "ogm"].contains(ext) ? .video : .audio }
        if at(4, "ftyp"), b.count >= 12 {
            let brand = String(decoding: b[8..<12], as: UTF8.self)
            if ["M4A ", "M4B ", "M4P ", "F4A "].contains(brand) { return .audio }
            if ["m4a", "m4b", "aac"].contains(ext) { return .audio }
            return .video
        }
        if b.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return ["mka", "weba"].contains(ext) ? .audio : .video }
        // An MPEG audio frame (MP3) or AAC ADTS header: 11 (12) sync bits.
        if b.count >= 2, b[0] == 0xFF, b[1] & 0xE0 == 0xE0 { return .audio }
        return isUTF8Text(b) ? .text : nil
    }

    /// Detects the kind of the file at `url` from its first 64 KiB.
    /// - Throws: `QuiverError.unreadableInput` when the file cannot be read.
    public static func detect(fileAt url: URL) throws -> ContentModality? {
        guard let h = FileHandle(forReadingAtPath: url.path) else {
            throw QuiverError.unreadableInput(path: url.path, reason: "cannot open it for reading (missing, or no permission)")
        }
        defer { try? h.close() }
        let data: Data
        do { data = try h.read(upToCount: 1 << 16) ?? Data() } catch {
            throw QuiverError.unreadableInput(path: url.path, reason: "read failed: \(error.localizedDescription)")
        }
        return detect(header: data, pathExtension: url.pathExtension)
    }

    /// Valid UTF-8 without NUL or other C0 controls than tab, newline, form feed and carriage return.
    static func isUTF8Text(_ b: [UInt8]) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 {
                if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0C && c != 0x0D && c != 0x1B { return false }
                i += 1; continue
            }
            let len: Int
            if c & 0xE0 == 0xC0, c >= 0xC2 { len = 2 } else if c & 0xF0 == 0xE0 { len = 3 } else if c & 0xF8 == 0xF0, c <= 0xF4 { len = 4 } else { return false }
            if i + len > n { return n - i < 4 && n == 1 << 16 }   // cut at the end of the header
            for k in 1..<len where b[i + k] & 0xC0 != 0x80 { return false }
            i += len
        }
        return true
    }
}
