import Foundation
import XCTest
import QuiverStore
@testable import QuiverMilvus

/// Address parsing, and the connection errors a user sees (no server needed for most).
final class MilvusConnectionTests: XCTestCase {
    func testAddressForms() throws {
        let a = try MilvusAddress(parsing: "milvus://127.0.0.1:19530")
        XCTAssertEqual(a.endpoint, .host("127.0.0.1", port: 19530)); XCTAssertFalse(a.tls)
        XCTAssertEqual(try MilvusAddress(parsing: "http://localhost").endpoint, .host("localhost", port: 19530))
        let z = try MilvusAddress(parsing: "https://in01-abc.aws-us-west-2.vectordb.zillizcloud.com:19536")
        XCTAssertTrue(z.tls); XCTAssertEqual(z.endpoint, .host("in01-abc.aws-us-west-2.vectordb.zillizcloud.com", port: 19536))
        XCTAssertEqual(try MilvusAddress(parsing: "https://example.com").endpoint, .host("example.com", port: 443))
        XCTAssertEqual(try MilvusAddress(parsing: "unix:/tmp/m.sock").endpoint, .unixSocket("/tmp/m.sock"))
        XCTAssertEqual(try MilvusAddress(parsing: "unix:///tmp/m.sock").endpoint, .unixSocket("/tmp/m.sock"))
        XCTAssertEqual(try MilvusAddress(parsing: "milvus://[::1]:19530").endpoint, .host("::1", port: 19530))
        let cred = try MilvusAddress(parsing: "milvus://root:Mil%40vus@host:1/mydb")
        XCTAssertEqual(cred.tokenInURL, "root:Mil@vus"); XCTAssertEqual(cred.dbNameInURL, "mydb")
        XCTAssertEqual(cred.description, "milvus://host:1")  // no credentials in messages
        XCTAssertTrue(MilvusAddress.isMilvusAddress("milvus://x")); XCTAssertFalse(MilvusAddress.isMilvusAddress("/data/store"))
    }

    func testBadAddressesNameTheProblem() {
        for (s, part) in [("milvus://", "no host"), ("ftp://h:1", "unknown scheme 'ftp'"), ("unix:relative", "absolute path"),
                          ("milvus://h:1/a/b", "path"), ("milvus://u:secret@:1", "no host")] {
            XCTAssertThrowsError(try MilvusAddress(parsing: s), s) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains(part), "\(s): \(text)")
                XCTAssertFalse(text.contains("secret"), "credentials leaked: \(text)")
            }
        }
    }

    func testUnreachableServerFailsFastWithAClearError() async throws {
        // A port nothing listens on (bound then closed).
        let start = ContinuousClock.now
        do {
            _ = try await MilvusStore(address: "milvus://127.0.0.1:9", timeout: 3)
            XCTFail("connected to a closed port")
        } catch let e as MilvusError {
            guard case let .unreachable(server, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(server, "milvus://127.0.0.1:9")
            XCTAssertTrue(e.description.contains("cannot be reached"), e.description)
        }
        // Retries (a safe call) stay within twice the timeout.
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(8))
    }

    func testTLSAgainstAPlaintextServerIsATLSError() async throws {
        guard let hp = Backend.lite.hostPort else { throw XCTSkip("QUIVER_MILVUS_LITE not set") }
        do {
            _ = try await MilvusStore(address: "https://" + hp, timeout: 5)
            XCTFail("TLS to a plaintext server succeeded")
        } catch let e as MilvusError {
            switch e {
            case .tls, .unreachable: XCTAssertTrue(e.description.contains(hp), e.description)
            default: XCTFail("\(e)")
            }
        }
        do {
            _ = try await MilvusStore(address: "https://" + hp, caFile: "/nonexistent/ca.pem", timeout: 5)
            XCTFail("a missing CA file was accepted")
        } catch let e as MilvusError {
            guard case .tls = e else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("/nonexistent/ca.pem"), e.description)
        }
    }

    func testWrongTokenAndNoTokenAreRefused() async throws {
        guard let address = Backend.standalone.address else {
            if Backend.required { XCTFail("QUIVER_MILVUS_STANDALONE not set") }
            throw XCTSkip("QUIVER_MILVUS_STANDALONE not set")
        }
        for token in ["root:wrong", nil] as [String?] {
            do {
                _ = try await MilvusStore(address: address, token: token, timeout: 10)
                XCTFail("token \(token ?? "none") was accepted")
            } catch let e as MilvusError {
                guard case let .unauthenticated(server, reason) = e else { return XCTFail("\(e)") }
                XCTAssertTrue(address.hasSuffix(server.replacingOccurrences(of: "milvus://", with: "")))
                XCTAssertFalse(reason.isEmpty)
                XCTAssertTrue(e.description.contains("--token"), e.description)
            }
        }
        // The right token works and sees the server's version.
        let db = try await MilvusStore(address: address, token: Backend.standalone.token, timeout: 10)
        let v = try await db.serverVersion()
        XCTAssertTrue(v.contains("2.3"), v)
        try await db.close()
    }

    func testTimeoutIsReported() async throws {
        guard let address = Backend.lite.address else { throw XCTSkip("QUIVER_MILVUS_LITE not set") }
        let db = try await MilvusStore(address: address, timeout: 10)
        // A deadline far too short for any call.
        do {
            _ = try await db.conn.call("ShowCollections", safe: false, timeout: 0.000_001) { s, m, o in
                try await s.showCollections(.init(), metadata: m, options: o)
            }
            XCTFail("no timeout")
        } catch let e as MilvusError {
            guard case .timeout = e else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("ShowCollections"), e.description)
        }
        try await db.close()
    }

    func testUnknownDatabaseQuotesTheServer() async throws {
        guard let address = Backend.standalone.address else {
            if Backend.required { XCTFail("QUIVER_MILVUS_STANDALONE not set") }
            throw XCTSkip("QUIVER_MILVUS_STANDALONE not set")
        }
        do {
            _ = try await MilvusStore(address: address, token: Backend.standalone.token, dbName: "qv_no_such_db", timeout: 10)
            XCTFail("an unknown database was accepted")
        } catch let e as MilvusError {
            guard case let .server(_, _, op, _, reason) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(op, "ShowCollections")
            XCTAssertTrue(reason.contains("qv_no_such_db") || reason.lowercased().contains("database"), reason)
        }
    }

    func testOpenPicksTheBackendFromTheLocation() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-mv-open-\(UUID().uuidString)").path
        let local = try await MilvusStore.open(dir)
        XCTAssertTrue(local is VectorStore)
        XCTAssertEqual(local.location, dir)
        try await local.close()
        guard let address = Backend.lite.address else { throw XCTSkip("QUIVER_MILVUS_LITE not set") }
        let remote = try await MilvusStore.open(address)
        XCTAssertTrue(remote is MilvusStore)
        XCTAssertEqual(remote.location, address)
        try await remote.close()
    }
}
