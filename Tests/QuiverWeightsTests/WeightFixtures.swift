import Foundation
import XCTest
import QuiverTestSupport
@testable import QuiverWeights

/// Reference values written by scripts/fixtures/weights_reference.py (torch.load, or a numpy
/// decoder for CTranslate2) into Tests/Fixtures/weights/.
struct TensorSample: Decodable {
    let name: String
    let shape: [Int]
    let first: [Double]
    let sum: Double
    let sumsq: Double
}

struct TorchReference: Decodable {
    let file: String
    let tensor_count: Int
    let dtypes: [String: String]
    let shapes: [String: [Int]]
    let non_contiguous: [String]
    let samples: [TensorSample]
}

struct CT2Reference: Decodable {
    let file: String
    let spec: String
    let revision: Int
    let variable_count: Int
    let aliases: [String: String]
    let dtypes: [String: String]
    let encoder_shapes: [String: [Int]]
    let samples: [TensorSample]
}

struct TinyTensor: Decodable {
    let shape: [Int]
    let dtype: String
    let contiguous: Bool
    let values: [Double]
}

enum WeightFixtures {
    static let directory = TestPaths.fixtures.appendingPathComponent("weights")

    static func json<T: Decodable>(_ name: String, as: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Checks a tensor against a reference sample. Tolerances: the first values must match
    /// exactly (float32 copies and float16→float32 widening are exact); the sums are accumulated
    /// in Double in a different order than numpy's pairwise sum, so they may differ by rounding:
    /// |Δsum| ≤ 1e-9·(Σ|x| bound √(n·Σx²)) + 1e-9 and |Δsumsq| ≤ 1e-9·Σx² + 1e-9.
    static func check(_ t: WeightTensor, against s: TensorSample, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(t.shape, s.shape, s.name, file: file, line: line)
        let v = t.array
        XCTAssertEqual(Array(v.prefix(8)).map(Double.init), s.first, "\(s.name) first values", file: file, line: line)
        var sum = 0.0, sumsq = 0.0
        for x in v { let d = Double(x); sum += d; sumsq += d * d }
        let bound = (Double(v.count) * s.sumsq).squareRoot()
        XCTAssertEqual(sum, s.sum, accuracy: 1e-9 * bound + 1e-9, "\(s.name) sum", file: file, line: line)
        XCTAssertEqual(sumsq, s.sumsq, accuracy: 1e-9 * s.sumsq + 1e-9, "\(s.name) sum of squares", file: file, line: line)
    }

    /// The name torch uses for a WeightDType.
    static func torchName(_ d: WeightDType) -> String {
        switch d {
        case .float32: return "float32"
        case .float16: return "float16"
        case .bfloat16: return "bfloat16"
        case .float64: return "float64"
        case .int64: return "int64"
        case .int32: return "int32"
        case .int16: return "int16"
        case .int8: return "int8"
        case .uint8: return "uint8"
        case .bool: return "bool"
        }
    }
}
