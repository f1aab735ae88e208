import Foundation
import XCTest
import QuiverTestSupport
@testable import QuiverWeights

final class SafeTensorsTests: XCTestCase {
    func testMiniLMLoadsEveryTensorMappedInPlace() throws {
        let dir = try TestPaths.model("all-MiniLM-L6-v2")
        let st = try SafeTensorsFile(path: dir.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(st.infos.count, 104)  // BERT + pooler, as the checkpoint ships
        let emb = try st.tensor("embeddings.word_embeddings.weight")
        XCTAssertEqual(emb.shape, [30522, 384])
        XCTAssertTrue(emb.storage.isMapped, "F32 tensors must be used in place, not copied")
        for info in st.infos {
            let t = try st.tensor(info.name)
            XCTAssertEqual(t.count, info.shape.reduce(1, *), info.name)
            XCTAssertTrue(t.array.allSatisfy { $0.isFinite }, info.name)
        }
    }

    func testHalfConversionIsExact() {
        XCTAssertEqual(FloatConversion.halfToFloat(0x3C00), 1.0)
        XCTAssertEqual(FloatConversion.halfToFloat(0xC000), -2.0)
        XCTAssertEqual(FloatConversion.halfToFloat(0x7BFF), 65504.0)
        XCTAssertEqual(FloatConversion.halfToFloat(0x0001), Float(5.9604645e-08))  // smallest subnormal
        XCTAssertEqual(FloatConversion.halfToFloat(0x7C00), .infinity)
        XCTAssertTrue(FloatConversion.halfToFloat(0x7E00).isNaN)
        XCTAssertEqual(FloatConversion.bfloat16ToFloat(0x3F80), 1.0)
    }

    func testHalfTableAndGatherMatchTheScalarConversion() {
        for h in 0...0xFFFF {
            XCTAssertEqual(FloatConversion.halfTable[h].bitPattern, FloatConversion.halfToFloat(UInt16(h)).bitPattern, "half 0x\(String(h, radix: 16))")
        }
        let halves: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3800, 0x0000]
        var out = [Float](repeating: 0, count: 3)
        halves.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { FloatConversion.gather(raw.baseAddress!, dtype: .float16, count: 3, strideBytes: 4, into: $0.baseAddress!) }
        }
        XCTAssertEqual(out, [1.0, 65504.0, 0.5])
    }

    func testTruncatedFileNamesTheProblem() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trunc-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let header = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#.data(using: .utf8)!
        var d = Data(); var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(header); d.append(Data(count: 8))  // only 8 of 16 data bytes
        try d.write(to: url)
        XCTAssertThrowsError(try SafeTensorsFile(path: url.path)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(url.path), message)
            XCTAssertTrue(message.contains("'w'"), message)
        }
    }

    func testHugeDeclaredHeaderIsRejected() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("huge-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        var n = UInt64.max.littleEndian
        try Data(bytes: &n, count: 8).write(to: url)
        XCTAssertThrowsError(try SafeTensorsFile(path: url.path)) { XCTAssertTrue("\($0)".contains("header length"), "\($0)") }
    }
}
