import Foundation
import XCTest
@testable import QuiverWeights

/// Hostile safetensors headers: numbers JSON can hold but an Int cannot, deep nesting.
final class SafeTensorsHostileTests: XCTestCase {
    private func file(_ header: String, data: Int = 16) -> MappedFile {
        var b = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8)
        b += [UInt8](repeating: 0, count: data)
        return MappedFile(bytes: b, path: "hostile.safetensors")
    }

    private func assertRejected(_ header: String, _ part: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(file: self.file(header)), file: file, line: line) { e in
            XCTAssertTrue(e is WeightsError && "\(e)".contains("hostile.safetensors") && "\(e)".contains(part), "\(e)", file: file, line: line)
        }
    }

    func testOutOfRangeNumbers() {
        assertRejected(#"{"w":{"dtype":"F32","shape":[1e300],"data_offsets":[0,16]}}"#, "'w'")
        assertRejected(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,1e300]}}"#, "'w'")
        assertRejected(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[-1e300,16]}}"#, "'w'")
        assertRejected(#"{"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,16]}}"#, "'w'")
        assertRejected(#"{"w":{"dtype":"F32","shape":[4.5],"data_offsets":[0,16]}}"#, "'w'")
        assertRejected(#"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, "'w'")
    }

    func testDeepNestingIsRejectedWithoutCrash() {
        let deep = "{\"w\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        XCTAssertThrowsError(try SafeTensorsFile(file: file(deep))) { e in
            XCTAssertTrue("\(e)".contains("hostile.safetensors"), "\(e)")
        }
    }
}
