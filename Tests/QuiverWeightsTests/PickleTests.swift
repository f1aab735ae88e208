import Foundation
import XCTest
@testable import QuiverWeights

final class PickleTests: XCTestCase {
    private func run(_ bytes: [UInt8]) throws -> (PickleValue, PickleMachine) {
        var m = PickleMachine(path: "test.pkl", what: "data.pkl")
        let file = MappedFile(bytes: bytes, path: "test.pkl")
        var r = ByteReader(path: "test.pkl", bytes: try file.bytes(0, file.count))
        let v = try m.run(&r) { m, pid, at in try m.torchStorage(pid, at: at) }
        return (v, m)
    }

    private func assertError(_ bytes: [UInt8], contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try run(bytes), file: file, line: line) { e in
            let m = "\(e)"
            XCTAssertTrue(e is WeightsError, m, file: file, line: line)
            for p in parts { XCTAssertTrue(m.contains(p), "'\(p)' not in: \(m)", file: file, line: line) }
        }
    }

    func testScalarsAndContainers() throws {
        var p = PickleBuilder()
        p.proto(); p.op(0x5D)  // []
        p.mark(); p.int(-5); p.op(0x4B); p.op(200)            // BININT -5, BININT1 200
        p.op(0x4D); p.bytes += [0x34, 0x12]                    // BININT2 0x1234
        p.op(0x8A); p.bytes += [2, 0xFF, 0x7F]                 // LONG1 32767
        p.op(0x8A); p.bytes += [1, 0xFF]                       // LONG1 -1
        p.op(0x47); p.bytes += [0x3F, 0xF8, 0, 0, 0, 0, 0, 0]  // BINFLOAT 1.5
        p.op(0x4E); p.op(0x88); p.op(0x89)                     // None True False
        p.op(0x55); p.bytes += [2, 0x68, 0xE9]                 // SHORT_BINSTRING "hé" (Latin-1)
        p.op(0x8C); p.bytes += [2] + Array("ok".utf8)          // SHORT_BINUNICODE
        p.op(0x65)                                             // APPENDS
        p.stop()
        let (v, m) = try run(p.bytes)
        guard case let .list(l) = v else { return XCTFail("\(v)") }
        XCTAssertEqual(m.lists[l], [.int(-5), .int(200), .int(0x1234), .int(32767), .int(-1), .float(1.5),
                                    .none, .bool(true), .bool(false), .string("hé"), .string("ok")])
    }

    func testMemoAndTuples() throws {
        var p = PickleBuilder()
        p.proto(); p.string("a"); p.op(0x71); p.op(3)          // BINPUT 3
        p.op(0x68); p.op(3); p.op(0x86)                        // BINGET 3, TUPLE2
        p.op(0x94); p.op(0x6A); p.u32(1); p.op(0x86)           // MEMOIZE (index 1), LONG_BINGET 1, TUPLE2
        p.stop()
        let (v, m) = try run(p.bytes)
        guard case let .tuple(t) = v, case let .tuple(inner) = m.tuples[t][0] else { return XCTFail("\(v)") }
        XCTAssertEqual(m.tuples[inner], [.string("a"), .string("a")])
        XCTAssertEqual(m.tuples[t][1], m.tuples[t][0])
    }

    func testOpcodeOutsideSubsetIsNamedWithOffset() {
        assertError([0x80, 2, 0x4E, 0x32, 0x2E], contains: ["test.pkl", "DUP (0x32)", "byte 3"])
        assertError([0x80, 2, 0x81], contains: ["NEWOBJ"])
        assertError([0x80, 2, 0xFF], contains: ["unknown (0xFF)", "byte 2"])
    }

    func testGlobalsOutsideWhitelistAreRejected() {
        var p = PickleBuilder()
        p.proto(); p.global("os", "system"); p.stop()
        assertError(p.bytes, contains: ["global os.system is not on the whitelist", "byte 2"])
        p = PickleBuilder()
        p.proto(); p.string("builtins"); p.string("eval"); p.op(0x93); p.stop()
        assertError(p.bytes, contains: ["builtins.eval"])
        // A whitelisted storage class cannot be called.
        p = PickleBuilder()
        p.proto(); p.global("torch", "FloatStorage"); p.emptyTuple(); p.op(0x52); p.stop()
        assertError(p.bytes, contains: ["REDUCE of torch.FloatStorage is not supported"])
    }

    func testDeclaredLengthsAreCheckedBeforeReading() {
        assertError([0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x61], contains: ["BINUNICODE string", "needs 2147483647 bytes", "1 remain"])
        assertError([0x80, 4, 0x8D] + [UInt8](repeating: 0xFF, count: 8), contains: ["BINUNICODE8 declares"])
        assertError([0x80, 4, 0x95] + [UInt8](repeating: 0xFF, count: 8), contains: ["FRAME declares"])
        assertError([0x80, 2, 0x8B, 0xFF, 0xFF, 0xFF, 0x7F], contains: ["LONG4"])
        assertError([0x80, 2, 0x58, 0x02, 0, 0, 0, 0xC3, 0x28, 0x2E], contains: ["not valid UTF-8"])
    }

    func testStackMarkAndMemoErrors() {
        assertError([0x80, 2, 0x2E], contains: ["STOP with 0 stack items"])
        assertError([0x80, 2, 0x73], contains: ["stack underflow"])
        assertError([0x80, 2, 0x74], contains: ["no MARK to close"])
        assertError([0x80, 2, 0x68, 9], contains: ["memo index 9 was never stored"])
        assertError([0x80, 2, 0x4E, 0x73], contains: ["stack underflow"])
        assertError([0x80, 2, 0x4E, 0x4E, 0x4E, 0x73, 0x2E], contains: ["SETITEM(S) on a None"])
        assertError([0x80, 2, 0x28, 0x4E, 0x61], contains: ["stack underflow"])  // APPEND cannot reach below a MARK
        assertError([0x80, 2, 0x4E], contains: ["needs 1 bytes, only 0 remain"])  // no STOP
    }

    /// A recursion bomb: a million nested tuples. The machine keeps containers in a flat arena,
    /// so building and dropping it recurses nowhere; a state-dict reader rejects it as a root.
    func testDeeplyNestedTuplesDoNotRecurse() throws {
        var p = PickleBuilder()
        p.proto(); p.emptyTuple()
        p.bytes += [UInt8](repeating: 0x85, count: 1_000_000)  // TUPLE1 × 1e6
        p.stop()
        let (v, m) = try run(p.bytes)
        XCTAssertEqual(m.tuples.count, 1_000_001)
        XCTAssertThrowsError(try m.stateDict(v, at: 0)) { XCTAssertTrue("\($0)".contains("holds a tuple, not a state dict"), "\($0)") }
        // A dict containing itself does not loop the state-dict walk.
        let cyclic: [UInt8] = [0x80, 2, 0x7D, 0x71, 0, 0x58, 1, 0, 0, 0, 0x6B, 0x68, 0, 0x73, 0x2E]
        let (c, cm) = try run(cyclic)
        XCTAssertEqual(try cm.stateDict(c, at: 0).count, 0)
    }

    func testContainerLimit() {
        assertError([0x80, 2, 0x29] + [UInt8](repeating: 0x85, count: PickleMachine.maxContainers), contains: ["more than 1048576 tuples, lists and dicts"])
    }

    func testMarkAndStackLimits() {
        assertError([0x80, 2] + [UInt8](repeating: 0x28, count: PickleMachine.maxMarks + 1), contains: ["nested MARKs"])
        assertError([0x80, 2] + [UInt8](repeating: 0x4E, count: PickleMachine.maxStack + 1), contains: ["stack exceeds"])
    }

    func testBadTensorArgumentsAreNamed() throws {
        var p = PickleBuilder()
        p.proto(); p.global("torch._utils", "_rebuild_tensor_v2"); p.mark(); p.int(1); p.op(0x74); p.op(0x52); p.stop()
        assertError(p.bytes, contains: ["_rebuild_tensor_v2 needs (storage, offset, size, stride"])
        p = PickleBuilder()
        p.proto(); p.mark(); p.string("storage"); p.global("torch", "FloatStorage"); p.string("0"); p.string("cpu"); p.int(-4); p.op(0x74); p.op(0x51); p.stop()
        assertError(p.bytes, contains: ["storage size is not a non-negative int"])
    }
}
