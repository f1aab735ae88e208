import XCTest
@testable import QuiverStore

/// Tests that run this test binary again as a second process: lock contention and SIGKILL crashes.
final class ProcessTests: XCTestCase {
    static let childEnv = "QUIVER_STORE_CHILD"

    // MARK: children (run only when re-launched with QUIVER_STORE_CHILD set)

    /// Child: tries to open the store and prints the outcome.
    func testChildOpenStore() async throws {
        guard let dir = ProcessInfo.processInfo.environment[Self.childEnv + "_OPEN"] else { return }
        do {
            let s = try VectorStore(path: dir)
            let c = try await s.collection("docs")
            let n = try await c.count()
            emitLine("OPENED \(n)")
            if ProcessInfo.processInfo.environment[Self.childEnv + "_HOLD"] != nil {
                emitLine("HOLDING")
                try await Task.sleep(nanoseconds: 30_000_000_000)  // until killed
            }
            try await s.close()
        } catch {
            emitLine("ERROR \(error)")
        }
    }

    /// Child: writes until killed, printing each acknowledged operation.
    func testChildWriter() async throws {
        guard let dir = ProcessInfo.processInfo.environment[Self.childEnv + "_WRITE"],
              let base = Int64(ProcessInfo.processInfo.environment[Self.childEnv + "_BASE"] ?? "") else { return }
        let store = try VectorStore(path: dir, options: StoreOptions(flushRows: 400, flushBatches: 25))
        let c = try await store.collection("docs")
        var next = base
        var acked: [Int64] = []
        var op = 0
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            op += 1
            if op % 7 == 0, acked.count > 3 {
                let victim = acked.remove(at: Int(UInt64(op * 2654435761) % UInt64(acked.count)))
                emitLine("WILL DEL \(victim)")
                try await c.delete(ids: [.int(victim)])
                emitLine("DEL \(victim)")
            } else if op % 11 == 0, let last = acked.last {
                var e = docsEntity(last)
                e.fields["age"] = .int(1000 + last % 50)
                emitLine("WILL UPS \(last)")
                try await c.upsert([e])
                emitLine("UPS \(last)")
            } else if op % 53 == 0 {
                try await c.compact()
            } else {
                let n = 1 + op % 4
                let ids = (0..<Int64(n)).map { next + $0 }
                emitLine("WILL ACK \(ids.map(String.init).joined(separator: " "))")
                try await c.insert(ids.map { docsEntity($0) })
                next += Int64(n)
                acked.append(contentsOf: ids)
                emitLine("ACK \(ids.map(String.init).joined(separator: " "))")
            }
        }
        try await store.close()
    }

    // MARK: parents

    func testSecondProcessGetsInUseError() async throws {
        let dir = try makeTempDir(self)
        let store = try VectorStore(path: dir)
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert([docsEntity(1)])
        let (p, out) = try launchChildTest("QuiverStoreTests.ProcessTests/testChildOpenStore", environment: [Self.childEnv + "_OPEN": dir])
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertTrue(text.contains("ERROR store \(dir) is in use by pid \(getpid())"), text)
        // Same process, second handle: also refused.
        await assertStoreError("store \(dir) is in use by pid \(getpid())") { _ = try VectorStore(path: dir) }
        try await store.close()
        // Released: the child now opens it.
        let (p2, out2) = try launchChildTest("QuiverStoreTests.ProcessTests/testChildOpenStore", environment: [Self.childEnv + "_OPEN": dir])
        let text2 = String(decoding: out2.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p2.waitUntilExit()
        XCTAssertTrue(text2.contains("OPENED 1"), text2)
    }

    func testStaleLockOfKilledProcessIsTakenOver() async throws {
        let dir = try makeTempDir(self)
        do {
            let store = try VectorStore(path: dir)
            try await store.createCollection("docs", schema: docsSchema())
            try await store.close()
        }
        let (p, out) = try launchChildTest("QuiverStoreTests.ProcessTests/testChildOpenStore",
                                           environment: [Self.childEnv + "_OPEN": dir, Self.childEnv + "_HOLD": "1"])
        let reader = LineReader(out.fileHandleForReading)
        XCTAssertNotNil(reader.waitFor("HOLDING", timeout: 20))
        await assertStoreError("is in use by pid \(p.processIdentifier)") { _ = try VectorStore(path: dir) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let lockText = try String(contentsOfFile: dir + "/LOCK", encoding: .utf8)
        XCTAssertEqual(lockText.trimmingCharacters(in: .whitespacesAndNewlines), String(p.processIdentifier), "the dead owner's pid is still in the file")
        let store = try VectorStore(path: dir)
        let mine = try String(contentsOfFile: dir + "/LOCK", encoding: .utf8)
        XCTAssertEqual(mine.trimmingCharacters(in: .whitespacesAndNewlines), String(getpid()))
        try await store.close()
    }

    /// Kills a writer with SIGKILL at random moments; after each kill the store must open, hold
    /// every acknowledged write (with its data) and nothing unacknowledged beyond the one write
    /// in flight.
    func testSIGKILLWriterNeverLosesAcknowledgedWrites() async throws {
        let dir = try makeTempDir(self)
        do {
            let store = try VectorStore(path: dir)
            let c = try await store.createCollection("docs", schema: docsSchema())
            try await c.createIndex(kind: .flat)
            try await store.close()
        }
        var live = Set<Int64>()        // acknowledged and not deleted
        var upserted = Set<Int64>()    // acknowledged upserts (age >= 1000)
        var rng = SystemRandomNumberGenerator()
        let rounds = Int(ProcessInfo.processInfo.environment["QUIVER_CRASH_ROUNDS"] ?? "") ?? 50
        let started = Date()
        var totalAcks = 0
        for round in 0..<rounds {
            let base = Int64(round + 1) * 1_000_000
            let (p, out) = try launchChildTest("QuiverStoreTests.ProcessTests/testChildWriter",
                                               environment: [Self.childEnv + "_WRITE": dir, Self.childEnv + "_BASE": String(base)])
            let reader = LineReader(out.fileHandleForReading)
            // Wait for the first acknowledgement, then a random while more.
            _ = reader.waitFor("ACK", timeout: 20)
            usleep(UInt32.random(in: 0...150_000, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal, "round \(round): the writer ended before the kill")
            let lines = reader.finish()
            // Apply completed operations; remember the one in flight (announced, never acknowledged).
            var pending: (tag: Substring, ids: [Int64])?
            var lastInsert = base
            for line in lines {
                let parts = line.split(separator: " ")
                guard let tag = parts.first else { continue }
                if tag == "WILL", parts.count >= 2 {
                    pending = (parts[1], parts.dropFirst(2).compactMap { Int64($0) })
                    continue
                }
                let ids = parts.dropFirst().compactMap { Int64($0) }
                switch tag {
                case "ACK": for i in ids { live.insert(i); lastInsert = max(lastInsert, i) }; totalAcks += 1
                case "DEL": for i in ids { live.remove(i); upserted.remove(i) }
                case "UPS": for i in ids { upserted.insert(i) }
                default: continue
                }
                pending = nil
            }
            // Verify.
            let store = try VectorStore(path: dir)
            let c = try await store.collection("docs")
            let all = try await c.query(outputFields: ["age", "embedding"])
            var present: [Int64: FieldValue] = [:]
            for row in all {
                guard case let .int(i) = row.id else { XCTFail("round \(round): bad id \(row.id)"); continue }
                XCTAssertNil(present[i], "round \(round): id \(i) twice")
                present[i] = row.fields["age"] ?? .null
                XCTAssertEqual(row.vectors["embedding"], testVector(i, dimension: 8), "round \(round): vector of \(i)")
            }
            // The operation in flight may or may not have landed, atomically.
            if let (tag, ids) = pending {
                switch tag {
                case "ACK":
                    let landed = ids.filter { present[$0] != nil }
                    XCTAssertTrue(landed.isEmpty || landed.count == ids.count, "round \(round): insert of \(ids) landed partly")
                    live.formUnion(landed)
                case "DEL": if present[ids[0]] == nil { live.remove(ids[0]); upserted.remove(ids[0]) }
                case "UPS": if present[ids[0]] == .int(1000 + ids[0] % 50) { upserted.insert(ids[0]) }
                default: break
                }
            }
            let missing = live.filter { present[$0] == nil }
            XCTAssertTrue(missing.isEmpty, "round \(round): acknowledged ids lost: \(missing.sorted().prefix(10))")
            let extra = present.keys.filter { !live.contains($0) }
            XCTAssertTrue(extra.isEmpty, "round \(round): ids present but never acknowledged, or deleted: \(extra.sorted().prefix(10))")
            for id in upserted { XCTAssertEqual(present[id], .int(1000 + id % 50), "round \(round): upsert of \(id)") }
            for id in live where !upserted.contains(id) { XCTAssertEqual(present[id], .int(id % 50), "round \(round): age of \(id)") }
            let inFlightMax = lastInsert
            let hits = try await c.search(SearchRequest(vectors: [testVector(inFlightMax, dimension: 8)], limit: 1))
            if live.contains(inFlightMax) { XCTAssertEqual(hits[0].first?.id, .int(inFlightMax), "round \(round): search after recovery") }
            try await store.close()
            if Date().timeIntervalSince(started) > 60 { XCTFail("crash test too slow: \(round + 1) rounds in 60 s"); break }
        }
        print("SIGKILL test: \(rounds) rounds, \(totalAcks) acknowledged inserts, \(live.count) live ids, \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}

/// Collects lines from a pipe on a background thread.
final class LineReader: @unchecked Sendable {
    private let cond = NSCondition()
    private var lines: [String] = []
    private var done = false
    private let handle: FileHandle

    init(_ handle: FileHandle) {
        self.handle = handle
        Thread { [self] in self.run() }.start()
    }

    private func run() {
        var partial = ""
        while true {
            let d = handle.availableData
            if d.isEmpty { break }
            partial += String(decoding: d, as: UTF8.self)
            var complete: [String] = []
            while let nl = partial.firstIndex(of: "\n") {
                complete.append(String(partial[partial.startIndex..<nl]))
                partial = String(partial[partial.index(after: nl)...])
            }
            cond.lock(); lines += complete; cond.broadcast(); cond.unlock()
        }
        cond.lock(); done = true; cond.broadcast(); cond.unlock()
    }

    /// Waits until a line starting with `prefix` arrives (or the pipe closes, or time runs out).
    func waitFor(_ prefix: String, timeout: TimeInterval) -> String? {
        let until = Date().addingTimeInterval(timeout)
        cond.lock(); defer { cond.unlock() }
        while true {
            if let l = lines.first(where: { $0.hasPrefix(prefix) }) { return l }
            if done || !cond.wait(until: until) { return nil }
        }
    }

    /// All lines, once the pipe has closed.
    func finish() -> [String] {
        cond.lock(); defer { cond.unlock() }
        while !done { cond.wait() }
        return lines
    }
}
