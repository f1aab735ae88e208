import Foundation
import XCTest
@testable import QuiverHub
import QuiverTestSupport

final class HashingTests: XCTestCase {
    func sha256(_ s: String) -> String { var h = SHA256Hasher(); h.update(Data(s.utf8)); return h.finalize() }

    func testSHA256KnownVectors() {
        // FIPS 180-4 examples and the empty message.
        XCTAssertEqual(sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(sha256(String(repeating: "a", count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testSHA256IsTheSameWhateverTheChunking() {
        let data = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        var whole = SHA256Hasher(); whole.update(data)
        for chunk in [1, 3, 63, 64, 65, 1000] {
            var h = SHA256Hasher()
            var i = 0
            while i < data.count { h.update(data.subdata(in: i..<min(i + chunk, data.count))); i += chunk }
            XCTAssertEqual(h.finalize(), whole.finalize(), "chunk \(chunk)")
        }
        // Padding boundaries: 55, 56 and 64 bytes take different paths.
        XCTAssertEqual(sha256(String(repeating: "a", count: 55)), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        XCTAssertEqual(sha256(String(repeating: "a", count: 56)), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        XCTAssertEqual(sha256(String(repeating: "a", count: 64)), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }

    func testSHA1AndGitBlobIDs() {
        var h = SHA1Hasher(); h.update(Data("abc".utf8))
        XCTAssertEqual(h.finalize(), "a9993e364706816aba3e25717850c26c9cd0d89d")
        // `git hash-object` of "hello\n" and of the empty file.
        var v = ChecksumVerifier(expected: .gitBlobSHA1("ce013625030ba8dba906f756967f9e9ca394464a"), size: 6)
        v.update(Data("hello\n".utf8))
        XCTAssertTrue(v.check().ok)
        let empty = ChecksumVerifier(expected: .gitBlobSHA1("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"), size: 0)
        XCTAssertTrue(empty.check().ok)
        var wrong = ChecksumVerifier(expected: .gitBlobSHA1("ce013625030ba8dba906f756967f9e9ca394464a"), size: 6)
        wrong.update(Data("hellO\n".utf8))
        XCTAssertFalse(wrong.check().ok)
    }

    func testETagParsing() {
        XCTAssertEqual(ExpectedChecksum(etag: "\"53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db\""),
                       .sha256("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"))
        XCTAssertEqual(ExpectedChecksum(etag: "W/\"CE013625030BA8DBA906F756967F9E9CA394464A\""), .gitBlobSHA1("ce013625030ba8dba906f756967f9e9ca394464a"))
        XCTAssertNil(ExpectedChecksum(etag: "\"5d41402abc4b2a76b9719d911017c592-12\""), "a multipart S3 ETag is not a content hash")
        XCTAssertNil(ExpectedChecksum(etag: "W/\"1a2-xyz\""))
    }

    /// The hasher agrees with the weight checksum MODELS.md gives for a real installed file (about 18 MB).
    func testInstalledEfficientNetWeightsMatchTheCatalogChecksum() throws {
        let folder = try TestPaths.model("efficientnet-lite0")
        let entry = try XCTUnwrap(ModelCatalog.standard.entry(named: "efficientnet-lite0"))
        let file = folder.appendingPathComponent(entry.files.weights[0].path)
        let r = try ChecksumVerifier.verifyFile(file, expected: .sha256(entry.weightSHA256!), size: nil)
        XCTAssertTrue(r.ok, "got \(r.actual)")
    }
}
