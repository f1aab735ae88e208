import XCTest
@testable import QuiverTensor

final class TensorTests: XCTestCase {
    func testViewsShareStorageWithoutCopying() {
        let t = Tensor(shape: [4, 3], values: (0..<12).map(Float.init))
        let mid = t.rows(1..<3)
        XCTAssertEqual(mid.shape, [2, 3])
        XCTAssertEqual(mid.array, [3, 4, 5, 6, 7, 8])
        mid[0, 0] = 100
        XCTAssertEqual(t[1, 0], 100, "a row view writes the shared storage")
        let r = t.reshaped([2, -1])
        XCTAssertEqual(r.shape, [2, 6])
        XCTAssertEqual(r[1, 0], 6)
        XCTAssertTrue(r.storage === t.storage)
        let c = t.copy()
        c[0, 0] = -1
        XCTAssertEqual(t[0, 0], 0, "copy() owns its storage")
    }

    func testAllocationsAre64ByteAligned() {
        for n in [1, 3, 17, 1000] {
            XCTAssertEqual(Int(bitPattern: Tensor(zeros: [n]).pointer) % 64, 0)
        }
    }

    func testBorrowedStorageIsNotCopied() {
        let values: [Float] = [1, 2, 3, 4]
        let owner = Tensor(shape: [4], values: values)
        let borrowed = Tensor(borrowing: owner.pointer, shape: [2, 2], owner: owner.storage)
        XCTAssertEqual(borrowed.pointer, owner.pointer)
        XCTAssertTrue(borrowed.storage.isBorrowed)
        XCTAssertEqual(borrowed[1, 1], 4)
    }

    func testSoftmaxAndAddAndActivation() {
        let t = Tensor(shape: [2, 2], values: [0, 0, 1, 3])
        let s = t.softmax()
        XCTAssertEqual(s[0, 0], 0.5, accuracy: 1e-7)
        XCTAssertEqual(s[1, 1], Float(1 / (1 + exp(-2.0))), accuracy: 1e-6)
        let b = t + Tensor(shape: [2], values: [10, 20])
        XCTAssertEqual(b.array, [10, 20, 11, 23])
        XCTAssertEqual((t + t).array, [0, 0, 2, 6])
        XCTAssertEqual(Tensor(shape: [3], values: [-1, 2, 9]).applying(.relu6).array, [0, 2, 6])
    }

    func testWorkspaceReusesBuffers() {
        let w = Workspace()
        let a = w.buffer(0, count: 100)
        let b = w.buffer(0, count: 50)
        XCTAssertEqual(a, b, "a smaller request reuses the slot")
        _ = w.buffer(1, count: 10)
        XCTAssertGreaterThanOrEqual(w.capacity, 110)
    }

    func testParallelSplitCoversRangeOnce() {
        let parts = Parallel.split(10, parts: 3)
        XCTAssertEqual(parts.map(\.count).reduce(0, +), 10)
        XCTAssertEqual(parts.first?.lowerBound, 0)
        XCTAssertEqual(parts.last?.upperBound, 10)
        XCTAssertEqual(Parallel.split(2, parts: 8).count, 2)
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        defer { sums.deallocate() }
        Parallel.forEach(8, threads: 2) { i in sums[i] = i * i }
        XCTAssertEqual((0..<8).map { sums[$0] }, (0..<8).map { $0 * $0 })
    }

    func testActivationNames() {
        XCTAssertEqual(Activation(huggingFaceName: "gelu"), .geluErf)
        XCTAssertEqual(Activation(huggingFaceName: "gelu_new"), .geluTanh)
        XCTAssertEqual(Activation(huggingFaceName: "quick_gelu"), .quickGelu)
        XCTAssertNil(Activation(huggingFaceName: "mystery"))
    }
}
