import XCTest
@testable import QuiverMilvus

final class MilvusErrorTests: XCTestCase {
    func testInvalidAddressNamesTheAddress() {
        XCTAssertTrue(MilvusError.invalidAddress("milvus://", reason: "no host").description.contains("milvus://"))
    }
}
