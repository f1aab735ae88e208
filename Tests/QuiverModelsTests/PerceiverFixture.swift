import Foundation
import XCTest
import QuiverTestSupport

/// Reads the .npy arrays of Tests/Fixtures/perceiver (written by scripts/fixtures/make_perceiver.py
/// with numpy.save: version 1 headers, little-endian float32 `<f4` or int64 `<i8`, C order).
enum PerceiverFixture {
    static let folder = TestPaths.fixtures.appendingPathComponent("perceiver/tiny-random")

    struct NPYArray: Sendable {
        let shape: [Int]
        let values: [Float]
        var count: Int { values.count }
    }

    static func load(_ name: String) throws -> NPYArray {
        let url = folder.appendingPathComponent(name)
        let data = try Data(contentsOf: url)
        let bytes = [UInt8](data)
        guard bytes.count > 10, bytes[0] == 0x93, String(bytes: bytes[1..<6], encoding: .ascii) == "NUMPY" else {
            throw NSError(domain: "npy", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(url.path) is not a .npy file"])
        }
        let major = bytes[6]
        let headerLength = major == 1 ? Int(bytes[8]) | Int(bytes[9]) << 8
                                      : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        let headerStart = major == 1 ? 10 : 12
        let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .ascii) ?? ""
        guard header.contains("'fortran_order': False") else {
            throw NSError(domain: "npy", code: 2, userInfo: [NSLocalizedDescriptionKey: "\(url.path): only C order is read"])
        }
        let shapeText = header.components(separatedBy: "'shape': (")[1].components(separatedBy: ")")[0]
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let body = headerStart + headerLength
        var values = [Float](repeating: 0, count: count)
        if header.contains("'<f4'") {
            for i in 0..<count {
                let o = body + 4 * i
                values[i] = Float(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
            }
        } else if header.contains("'<i8'") {
            for i in 0..<count {
                var v: UInt64 = 0
                for b in 0..<8 { v |= UInt64(bytes[body + 8 * i + b]) << (8 * UInt64(b)) }
                values[i] = Float(Int64(bitPattern: v))
            }
        } else {
            throw NSError(domain: "npy", code: 3, userInfo: [NSLocalizedDescriptionKey: "\(url.path): dtype in \(header) is not <f4 or <i8"])
        }
        return NPYArray(shape: shape, values: values)
    }

    /// Cosine similarity and largest absolute difference of two equally long vectors.
    static func compare(_ a: [Float], _ b: [Float]) -> (cosine: Double, maxAbs: Float) {
        precondition(a.count == b.count, "lengths \(a.count) and \(b.count)")
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in a.indices { ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i]) }
        return (ab / max((aa * bb).squareRoot(), 1e-300), zip(a, b).map { abs($0 - $1) }.max() ?? 0)
    }
}
