import XCTest
@testable import Quiver
import QuiverTestSupport

final class ContentModalityTests: XCTestCase {
    private func bytes(_ parts: Any...) -> Data {
        var d = Data()
        for p in parts {
            if let s = p as? String { d.append(contentsOf: Array(s.utf8)) } else if let b = p as? [UInt8] { d.append(contentsOf: b) }
            else if let b = p as? [Int] { d.append(contentsOf: b.map { UInt8($0) }) }
        }
        return d
    }

    /// The detection table: magic bytes win over the extension, which only breaks ties.
    func testMagicBytesTable() {
        let riff4: [UInt8] = [0x24, 0, 0, 0]
        let cases: [(String, Data, String, ContentModality?)] = [
            ("jpeg", bytes([0xFF, 0xD8, 0xFF, 0xE0], "JFIF"), "txt", .image),
            ("png", bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "", .image),
            ("gif89", bytes("GIF89a", [1, 0, 1, 0]), "", .image),
            ("gif87", bytes("GIF87a"), "", .image),
            ("webp", bytes("RIFF", riff4, "WEBPVP8 "), "", .image),
            ("wav", bytes("RIFF", riff4, "WAVEfmt "), "mp4", .audio),
            ("avi", bytes("RIFF", riff4, "AVI LIST"), "", .video),
            ("riff other", bytes("RIFF", riff4, "CDXA"), "", nil),
            ("flac", bytes("fLaC", [0, 0, 0, 0x22]), "", .audio),
            ("ogg", bytes("OggS", [0, 2]), "ogg", .audio),
            ("ogv", bytes("OggS", [0, 2]), "ogv", .video),
            ("id3", bytes("ID3", [4, 0, 0]), "", .audio),
            ("mp3 frame", bytes([0xFF, 0xFB, 0x90, 0x44]), "", .audio),
            ("adts", bytes([0xFF, 0xF1, 0x50, 0x80]), "", .audio),
            ("m4a brand", bytes([0, 0, 0, 0x20], "ftypM4A ", [0, 0, 0, 0]), "mp4", .audio),
            ("mp4 isom", bytes([0, 0, 0, 0x20], "ftypisom", [0, 0, 2, 0]), "mp4", .video),
            ("isom named .m4a", bytes([0, 0, 0, 0x20], "ftypisom"), "M4A", .audio),
            ("quicktime", bytes([0, 0, 0, 0x14], "ftypqt  "), "mov", .video),
            ("mkv", bytes([0x1A, 0x45, 0xDF, 0xA3, 0x9F]), "webm", .video),
            ("mka", bytes([0x1A, 0x45, 0xDF, 0xA3, 0x9F]), "mka", .audio),
            ("ascii", bytes("hello world\n"), "jpg", .text),
            ("utf8", bytes("naïve café — 日本語\r\n\tok"), "", .text),
            ("nul", bytes("abc", [0], "def"), "txt", nil),
            ("bad utf8", bytes("abc", [0xC3, 0x28]), "txt", nil),
            ("overlong", bytes([0xC0, 0xAF]), "txt", nil),
            ("empty", Data(), "txt", nil),
        ]
        for (name, data, ext, want) in cases {
            XCTAssertEqual(ContentModality.detect(header: data, pathExtension: ext), want, name)
        }
    }

    /// A multi-byte character cut by the 64 KiB header limit is still text; a cut sequence in a
    /// short (whole) file is not.
    func testTruncatedHeaderKeepsText() {
        var d = Data(repeating: 0x61, count: (1 << 16) - 1)
        d.append(contentsOf: [0xE6, 0x97, 0xA5])   // 日 straddles the 64 KiB boundary
        XCTAssertEqual(ContentModality.detect(header: d), .text)
        XCTAssertNil(ContentModality.detect(header: Data([0x61, 0xE6, 0x97])))
    }

    /// Real sample files: the repository's media fixtures.
    func testFixtureFiles() throws {
        let media = TestPaths.reference.appendingPathComponent("media")
        let want: [String: ContentModality] = ["astronaut.png": .image, "rocket.jpg": .image, "speech_0.wav": .audio,
                                               "bikes.mp4": .video, "README.md": .text]
        for (name, kind) in want {
            let url = name == "README.md" ? TestPaths.reference.appendingPathComponent(name) : media.appendingPathComponent(name)
            XCTAssertEqual(try ContentModality.detect(fileAt: url), kind, name)
        }
        XCTAssertThrowsError(try ContentModality.detect(fileAt: media.appendingPathComponent("no-such-file"))) { e in
            XCTAssertTrue("\(e)".contains("no-such-file"), "\(e)")
        }
    }
}
