import Foundation
import XCTest
@testable import QuiverStore

/// Fault injection through the store's file-system seam (`StoreIO`): every create, write,
/// fsync and rename that a commit (insert, upsert, delete), a flush, a compaction, an index save
/// and a close make is failed in turn, with each kind of fault that applies to it. After each
/// fault the store is reopened with the real calls and checked in full against a reference
/// built from the acknowledged writes only: count, a checksum of every row, and exact search
/// results. A failed call must throw `readOnly`, leave nothing visible and nothing half-written.
final class FaultConsistencyTests: XCTestCase {
    /// One operation of the workload.
    enum Step: CustomStringConvertible {
        case insert(ClosedRange<Int64>), upsert(ClosedRange<Int64>), delete([Int64]), createIndex, flush, compact, close
        var description: String {
            switch self {
            case let .insert(r): return "insert \(r)"
            case let .upsert(r): return "upsert \(r)"
            case let .delete(ids): return "delete \(ids)"
            case .createIndex: return "createIndex(flat)"
            case .flush: return "flush"
            case .compact: return "compact"
            case .close: return "close"
            }
        }
    }

    /// The workload: its growing data passes `flushRows` inside step 5 (an upsert that flushes).
    static let workload: [Step] = [
        .insert(1...30), .createIndex, .insert(31...50), .delete([3, 33, 40]), .flush,
        .upsert(5...14), .insert(51...60), .compact, .insert(61...66), .close,
    ]
    static let options = StoreOptions(flushRows: 25, flushBatches: 100)

    /// A second version of an entity (for upserts): other vector and fields.
    static func variant(_ id: Int64) -> Entity {
        Entity(id: .int(id), vectors: ["embedding": testVector(id + 5000, dimension: 8)],
               fields: ["age": .int(99), "score": .double(-Double(id)), "name": .string("v\(id)"), "color": .string("green")])
    }

    /// A directory on a RAM file system when there is one (fsync is cheap there), else the temp dir.
    func faultDir() throws -> String {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        let dir = base + "quiverstore-fault-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// The reference after `step` succeeds.
    static func apply(_ step: Step, to ref: [Int64: Entity]) -> [Int64: Entity] {
        var next = ref
        switch step {
        case let .insert(r): for i in r { next[i] = docsEntity(i) }
        case let .upsert(r): for i in r { next[i] = variant(i) }
        case let .delete(ids): for i in ids { next[i] = nil }
        case .createIndex, .flush, .compact, .close: break
        }
        return next
    }

    /// Runs `step` on the store.
    func perform(_ step: Step, _ c: Collection, _ store: VectorStore) async throws {
        switch step {
        case let .insert(r): try await c.insert(r.map { docsEntity($0) })
        case let .upsert(r): try await c.upsert(r.map { Self.variant($0) })
        case let .delete(ids): try await c.delete(ids: ids.map { .int($0) })
        case .createIndex: try await c.createIndex(kind: .flat)
        case .flush: try await c.flush()
        case .compact: try await c.compact()
        case .close: try await store.close()
        }
    }

    /// Runs the workload up to and including step `target`, failing the `n`-th `call` of that
    /// step with `kind` (n = 0: no fault, counting the calls of each step instead).
    func scenario(target: Int, call: FaultCall, n: Int, kind: FaultKind, counts: inout [[FaultCall: Int]]) async throws {
        let root = try faultDir()
        let dir = root + "/store"
        let label = "step \(target) (\(Self.workload[target])), \(kind.rawValue) at \(call.rawValue) #\(n)"
        let injector = FaultInjector(root: root)
        StoreIO.install(injector)
        defer { StoreIO.reset() }
        let store = try VectorStore(path: dir, options: Self.options)
        let c = try await store.createCollection("docs", schema: docsSchema())
        var ref: [Int64: Entity] = [:]
        // A plain failed fsync leaves the data in the page cache: the unacknowledged write may
        // then be found after the reopen, all of it (never part). Every other fault loses it.
        var alternative: [Int64: Entity]?
        for (i, step) in Self.workload.enumerated() where i <= target {
            if i == target && n > 0 { injector.arm(call, n: n, kind: kind) } else { injector.resetCounts() }
            do {
                try await perform(step, c, store)
                ref = Self.apply(step, to: ref)
                if n == 0 { counts.append(Dictionary(uniqueKeysWithValues: FaultCall.allCases.map { ($0, injector.count($0)) })) }
                if i == target, injector.fired {
                    // Only a flush after a durable write may fail without failing the call.
                    switch step {
                    case .insert, .upsert, .delete: break
                    default: XCTFail("\(label): the fault did not fail the call")
                    }
                }
            } catch {
                XCTAssertTrue(i == target && injector.fired, "\(label): step \(i) failed without a fault: \(error)")
                if kind == .ioError, call == .fsync { alternative = Self.apply(step, to: ref) }
                guard case let .readOnly(collection, cause)? = error as? StoreError else {
                    XCTFail("\(label): expected readOnly, got \(error)"); break
                }
                XCTAssertEqual(collection, "docs")
                XCTAssertTrue("\(error)".contains("reopen"), "\(label): \(error)")
                if case .diskFull = cause { XCTAssertTrue("\(cause)".contains(dir), "\(label): \(cause)") }
            }
            if i == target { break }
        }
        if n > 0 {
            XCTAssertTrue(injector.fired, "\(label): the fault never happened")
            // Not visible: readers see exactly the acknowledged state.
            let visible = try await digests(c)
            XCTAssertEqual(visible, Self.digests(ref), "\(label): visible rows")
            // Read-only until reopened, without touching the files again (no fsync retried).
            injector.resetCounts()
            do {
                try await c.insert([docsEntity(900)])
                XCTFail("\(label): a write after the fault was accepted")
            } catch let e as StoreError {
                if case .readOnly = e {} else { XCTFail("\(label): \(e)") }
            }
            do {
                try await c.flush()
                XCTFail("\(label): a flush after the fault was accepted")
            } catch let e as StoreError {
                if case .readOnly = e {} else { XCTFail("\(label): \(e)") }
            }
            XCTAssertEqual(FaultCall.allCases.map { injector.count($0) }, [0, 0, 0, 0], "\(label): file calls after the fault")
            _ = try? await store.close()
            // Nothing half-written: no temporary file was left behind.
            let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/collections/docs")
            XCTAssertEqual(files.filter { $0.contains(".tmp") }, [], "\(label)")
        }
        StoreIO.reset()
        if n > 0 || target == Self.workload.count - 1 {
            try await verify(dir: dir, refs: [ref] + (alternative.map { [$0] } ?? []), label: label)
        } else {
            _ = try? await store.close()
        }
    }

    /// The checksum of every row of `c`, by id.
    func digests(_ c: Collection) async throws -> [Int64: String] {
        let rows = try await c.query(outputFields: ["*", "embedding"])
        var got: [Int64: String] = [:]
        for r in rows { if case let .int(i) = r.id { got[i] = Self.digest(r.fields, r.vectors["embedding"] ?? []) } }
        XCTAssertEqual(got.count, rows.count, "duplicate ids")
        return got
    }

    static func digests(_ ref: [Int64: Entity]) -> [Int64: String] {
        ref.mapValues { e in digest(stored(e), e.vectors["embedding"]!) }
    }

    /// Reopens the store with the real calls and checks it against the first of `refs` it
    /// matches (row count, row checksums, search results), then writes to it.
    func verify(dir: String, refs: [[Int64: Entity]], label: String) async throws {
        let store = try VectorStore(path: dir, options: Self.options)
        let c = try await store.collection("docs")
        let got = try await digests(c)
        let ref = refs.first { Self.digests($0) == got } ?? refs[0]
        let n = try await c.count()
        XCTAssertEqual(n, ref.count, "\(label): rows after reopen")
        XCTAssertEqual(got, Self.digests(ref), "\(label): row checksums after reopen")
        let queries = [testVector(7001, dimension: 8), testVector(7002, dimension: 8), testVector(12, dimension: 8)]
        let hits = try await c.search(SearchRequest(vectors: queries, limit: 5))
        let items = ref.map { ($0.key, $0.value.vectors["embedding"]!) }
        for (q, h) in zip(queries, hits) {
            let expected = bruteForce(q, items, metric: .cosine, k: 5)
            XCTAssertEqual(h.map(\.id), expected.map { .int($0.0) }, "\(label): search results")
            for (a, b) in zip(h, expected) { XCTAssertEqual(a.score, b.1, accuracy: 1e-4, "\(label)") }
        }
        // The reopened store takes writes again.
        try await c.insert([docsEntity(1000)])
        let after = try await c.count()
        XCTAssertEqual(after, ref.count + 1, "\(label)")
        try await store.close()
    }

    /// The fields as stored (defaults filled in) for an entity of `docsSchema`.
    static func stored(_ e: Entity) -> [String: FieldValue] {
        var f = e.fields
        for k in ["score", "tags"] where f[k] == nil { f[k] = .null }
        if f["name"] == nil { f["name"] = .string("anon") }
        return f
    }

    /// A checksum of one row: its sorted fields and its vector's bits.
    static func digest(_ fields: [String: FieldValue], _ vector: [Float]) -> String {
        var w = ByteWriter()
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { w.string(k); w.string("\(v)") }
        w.floats(vector)
        return String(CRC32C.checksum(w.bytes), radix: 16) + "/\(fields.count)/\(vector.count)"
    }

    /// Runs every fault at every call of the steps matching `which`.
    func runFaults(_ which: (Step) -> Bool) async throws {
        var counts: [[FaultCall: Int]] = []
        try await scenario(target: Self.workload.count - 1, call: .write, n: 0, kind: .ioError, counts: &counts)
        XCTAssertEqual(counts.count, Self.workload.count)
        var runs = 0
        for (t, step) in Self.workload.enumerated() where which(step) {
            for kind in FaultKind.allCases {
                for call in kind.calls {
                    let total = counts[t][call] ?? 0
                    for n in stride(from: 1, through: total, by: 1) {
                        var ignored: [[FaultCall: Int]] = []
                        try await scenario(target: t, call: call, n: n, kind: kind, counts: &ignored)
                        runs += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(runs, 0)
        print("fault injection: \(runs) faults, each followed by reopen and a full check")
    }

    func testFaultsDuringCommits() async throws {
        try await runFaults { s in
            switch s { case .insert, .upsert, .delete: return true; default: return false }
        }
    }

    func testFaultsDuringFlush() async throws {
        try await runFaults { s in if case .flush = s { return true }; return false }
    }

    func testFaultsDuringCompaction() async throws {
        try await runFaults { s in if case .compact = s { return true }; return false }
    }

    /// Building an index writes its file (and the segment and manifest the checkpoint needs).
    func testFaultsDuringIndexSave() async throws {
        try await runFaults { s in if case .createIndex = s { return true }; return false }
    }

    func testFaultsDuringClose() async throws {
        try await runFaults { s in if case .close = s { return true }; return false }
    }
}
