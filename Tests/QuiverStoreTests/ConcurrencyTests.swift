import XCTest
@testable import QuiverStore

final class ConcurrencyTests: XCTestCase {
    /// Readers keep working while a writer holds the writer lock (as during a flush or a write).
    func testReadersAreNotBlockedByAWriter() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert((1...100).map { docsEntity($0) })
        try await c.createIndex(kind: .flat)
        let release = holdWriterLock(c)
        let done = expectation(description: "reads finish while the writer lock is held")
        Task {
            let n = try await c.count()
            let hits = try await c.search(SearchRequest(vectors: [testVector(5, dimension: 8)], limit: 3))
            let rows = try await c.get(ids: [.int(5)])
            let q = try await c.query(limit: 10)
            XCTAssertEqual(n, 100); XCTAssertEqual(hits[0].first?.id, .int(5)); XCTAssertEqual(rows.count, 1); XCTAssertEqual(q.count, 10)
            done.fulfill()
        }
        await fulfillment(of: [done], timeout: 10)
        release.signal()
        try await store.close()
    }

    /// Readers running during writes, flushes and compaction always see a consistent collection:
    /// counts never go down, every search hit can be fetched, stored vectors match their ids.
    func testConcurrentReadersDuringWrites() async throws {
        let store = try VectorStore(path: try makeTempDir(self), options: StoreOptions(flushRows: 150, flushBatches: 10))
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.createIndex(kind: .flat)
        let writer = Task {
            for b in Int64(0)..<60 {
                try await c.insert((1...5).map { docsEntity(b * 5 + $0) })
                if b % 20 == 19 { try await c.compact() }
            }
        }
        let readers = (0..<3).map { r in
            Task { () -> Int in
                var last = 0, rounds = 0
                let deadline = Date().addingTimeInterval(60)
                while true {
                    let finished = Date() > deadline
                    let n = try await c.count()
                    XCTAssertGreaterThanOrEqual(n, last, "reader \(r): count went down")
                    last = n
                    let hits = try await c.search(SearchRequest(vectors: [testVector(Int64(rounds % 300 + 1), dimension: 8)], limit: 5, outputFields: ["embedding"]))
                    for h in hits[0] {
                        guard case let .int(id) = h.id else { XCTFail("bad id"); continue }
                        XCTAssertEqual(h.vectors["embedding"], testVector(id, dimension: 8))
                    }
                    let rows = try await c.get(ids: hits[0].map(\.id))
                    XCTAssertEqual(rows.count, hits[0].count, "reader \(r): a hit could not be fetched")
                    rounds += 1
                    if finished || n == 300 { XCTAssertFalse(finished, "timed out"); return rounds }
                }
            }
        }
        try await writer.value
        var total = 0
        for r in readers { total += try await r.value }
        XCTAssertGreaterThan(total, 3)
        let n = try await c.count()
        XCTAssertEqual(n, 300)
        try await store.close()
    }

    /// Concurrent writers share fsyncs (group commit) and all their writes land.
    func testGroupCommitBatchesConcurrentWriters() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: docsSchema())
        let syncsBefore = c.wal!.syncCount
        let threads = 8, perThread = 25
        let failures = Locked(0)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                do { _ = try c.write([docsEntity(Int64(t * 1000 + i))], models: [:], upsert: false) } catch { failures.withLock { $0 += 1 } }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
        let syncs = c.wal!.syncCount - syncsBefore
        let n = try await c.count()
        XCTAssertEqual(n, threads * perThread)
        XCTAssertLessThan(syncs, threads * perThread, "each fsync should cover several writers")
        print("group commit: \(threads * perThread) acknowledged inserts, \(syncs) fsyncs")
        try await store.close()
    }
}

/// Holds `c`'s writer lock on another thread until the returned semaphore is signalled.
func holdWriterLock(_ c: Collection) -> DispatchSemaphore {
    let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
    Thread { c.withWriter { holding.signal(); release.wait() } }.start()
    holding.wait()
    return release
}
