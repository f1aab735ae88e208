import XCTest
@testable import QuiverStore

final class NPYTests: XCTestCase {
    /// An NPY v1.0 file with `header` and raw `data`.
    func npyBytes(_ header: String, _ data: [UInt8]) -> [UInt8] {
        var h = header
        let total = 10 + h.utf8.count + 1
        h += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var b: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        b += [UInt8(h.utf8.count & 0xFF), UInt8(h.utf8.count >> 8)]
        return b + Array(h.utf8) + data
    }

    func file(_ bytes: [UInt8], _ name: String = "a.npy") throws -> String {
        let path = try makeTempDir(self, "npy") + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testRoundTripFloat32() throws {
        let m = NPYMatrix(rows: 3, columns: 2, values: [1, -2, 3.5, 4, 0, 1e-7])
        let path = try makeTempDir(self, "npy") + "/m.npy"
        try NPY.write(m, to: path)
        XCTAssertEqual(try NPY.read(path: path), m)
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(raw.count % 64, (6 * 4) % 64, "header padded to 64 bytes")
        XCTAssertEqual(m.row(1), [3.5, 4])
    }

    func testFloat64AndFloat16AreConverted() throws {
        let doubles: [Double] = [0.5, -1.25, 3, 1e10]
        var d: [UInt8] = []
        for x in doubles { withUnsafeBytes(of: x.bitPattern.littleEndian) { d += $0 } }
        let m64 = try NPY.read(path: try file(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", d)))
        XCTAssertEqual(m64.values, doubles.map { Float($0) })
        // float16: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800, 65504 = 0x7BFF.
        let halves: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF]
        var h: [UInt8] = []
        for x in halves { withUnsafeBytes(of: x.littleEndian) { h += $0 } }
        let m16 = try NPY.read(path: try file(npyBytes("{'descr': '<f2', 'fortran_order': False, 'shape': (1, 4), }", h)))
        XCTAssertEqual(m16.values, [1, -2, 0.5, 65504])
    }

    func testErrorsNameFileAndField() throws {
        let four = [UInt8](repeating: 0, count: 16)
        let cases: [(String, [UInt8], String)] = [
            ("bad-magic", Array("hello world, not npy".utf8), "NPY magic: not an NPY file"),
            ("big-endian", npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", four), "NPY descr: '>f4' is big-endian"),
            ("ints", npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }", four), "NPY descr: dtype '<i8' is not a float"),
            ("fortran", npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four), "NPY fortran_order"),
            ("one-d", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", four), "NPY shape: expected a 2-D array (vectors x dimension), got shape (4)"),
            ("short", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", four), "NPY data: shape (3, 2) needs 24 bytes of <f4 but the file holds 16"),
            ("negative", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, -2), }", four), "NPY shape: a dimension is negative (-2)"),
            ("huge", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 2), }", four), "needs more than \(Int.max) bytes"),
            ("huge-bytes", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976, 2), }", four), "needs more than \(Int.max) bytes"),
        ]
        for (name, bytes, message) in cases {
            let path = try file(bytes, name + ".npy")
            XCTAssertThrowsError(try NPY.read(path: path), name) { e in
                let text = "\(e)"
                XCTAssertTrue(text.hasPrefix(path + ": "), "\(name): \(text)")
                XCTAssertTrue(text.contains(message), "\(name): \(text)")
            }
        }
        XCTAssertThrowsError(try NPY.read(path: "/nonexistent/x.npy")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/x.npy: NPY file: cannot open"), "\(e)")
        }
    }

    func testCRC32CKnownValues() {
        // RFC 3720 test vectors.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum(Array(0..<32)), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
    }
}
