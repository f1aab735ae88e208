import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import QuiverMilvusWire
import QuiverStore
import QuiverTestSupport
import XCTest
@testable import QuiverMilvus

/// TLS (`https://`, Zilliz Cloud's form) against a local gRPC server with a certificate from a
/// test CA (Tests/Fixtures/milvus-tls, made by scripts/fixtures/make_milvus_tls.sh) that answers
/// ShowCollections as Milvus does.
final class MilvusTLSTests: XCTestCase {
    /// Only ShowCollections, registered by hand; it also records the metadata it was sent.
    struct FakeMilvus: RegistrableRPCService {
        let seen: Recorder
        func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
            router.registerHandler(forMethod: MVMilvusService.Method.ShowCollections.descriptor,
                                   deserializer: ProtobufDeserializer<MVShowCollectionsRequest>(),
                                   serializer: ProtobufSerializer<MVShowCollectionsResponse>()) { request, _ in
                let seen = self.seen
                await seen.record(request.metadata)
                var r = MVShowCollectionsResponse()
                r.collectionNames = ["b", "a"]
                return StreamingServerResponse(single: ServerResponse(message: r))
            }
        }
    }

    actor Recorder {
        var metadata: [Metadata] = []
        func record(_ m: Metadata) { metadata.append(m) }
    }

    func testHTTPSWithACAFileAndSystemRoots() async throws {
        let dir = TestPaths.fixtures.appendingPathComponent("milvus-tls").path
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .tls(certificateChain: [.file(path: dir + "/server.pem", format: .pem)],
                                    privateKey: .file(path: dir + "/server.key", format: .pem)))
        let recorder = Recorder()
        let server = GRPCServer(transport: transport, services: [FakeMilvus(seen: recorder)])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            guard let port = try await transport.listeningAddress.ipv4?.port else { return XCTFail("no port") }
            defer { server.beginGracefulShutdown() }

            // Trusted through --ca-file: works, sends the token and database as metadata.
            let db = try await MilvusStore(address: "https://localhost:\(port)", token: "user:pw", dbName: "mydb",
                                           caFile: dir + "/ca.pem", timeout: 10)
            let names = try await db.listCollections()
            XCTAssertEqual(names, ["a", "b"])
            XCTAssertEqual(db.location, "https://localhost:\(port)")
            try await db.close()
            let md = await recorder.metadata.last
            XCTAssertEqual(md.map { Array($0[stringValues: "authorization"]) }, [Data("user:pw".utf8).base64EncodedString()])
            XCTAssertEqual(md.map { Array($0[stringValues: "dbname"]) }, ["mydb"])

            // The system roots do not trust the test CA: a TLS error naming the server.
            do {
                _ = try await MilvusStore(address: "https://localhost:\(port)", timeout: 5)
                XCTFail("an untrusted certificate was accepted")
            } catch let e as MilvusError {
                guard case let .tls(server, _) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(server, "https://localhost:\(port)")
            }
            // Plaintext to a TLS server fails too, without hanging.
            do {
                _ = try await MilvusStore(address: "milvus://127.0.0.1:\(port)", timeout: 3)
                XCTFail("plaintext to a TLS server succeeded")
            } catch let e as MilvusError {
                switch e {
                case .unreachable, .tls, .rpc, .timeout: break
                default: XCTFail("\(e)")
                }
            }
        }
    }
}
