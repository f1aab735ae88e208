// quiver-ann-bench: builds a Quiver index over .npy vectors and measures build time, memory,
// single-thread QPS and recall@10 against exact ground truth. Prints one JSON object per line.
//
//   quiver-ann-bench hnsw BASE.npy QUERIES.npy GT.npy [M] [efConstruction] [ef,ef,...] [repeats]
//   quiver-ann-bench flat BASE.npy QUERIES.npy GT.npy [repeats]
import Foundation
import QuiverStore

struct NPY {
    var shape: [Int]
    var floats: [Float] = []
    var ints: [Int32] = []

    init(path: String) throws {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        guard d.count > 10, d.prefix(6) == Data([0x93] + Array("NUMPY".utf8)) else { throw NSError(domain: "npy \(path): bad magic", code: 1) }
        let major = d[6]
        let hlen = major == 1 ? Int(d[8]) | Int(d[9]) << 8 : Int(d[8]) | Int(d[9]) << 8 | Int(d[10]) << 16 | Int(d[11]) << 24
        let hstart = major == 1 ? 10 : 12
        let header = String(decoding: d[hstart..<(hstart + hlen)], as: UTF8.self)
        guard let s = header.range(of: "'shape': ("), let e = header[s.upperBound...].firstIndex(of: ")") else { throw NSError(domain: "npy \(path): no shape", code: 2) }
        shape = header[s.upperBound..<e].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if header.contains("'fortran_order': True") { throw NSError(domain: "npy \(path): fortran order", code: 3) }
        let body = d[(hstart + hlen)...]
        let n = shape.reduce(1, *)
        if header.contains("<f4") {
            floats = [Float](repeating: 0, count: n)
            _ = floats.withUnsafeMutableBytes { body.copyBytes(to: $0) }
        } else if header.contains("<i4") {
            ints = [Int32](repeating: 0, count: n)
            _ = ints.withUnsafeMutableBytes { body.copyBytes(to: $0) }
        } else if header.contains("<i8") {
            var l = [Int64](repeating: 0, count: n)
            _ = l.withUnsafeMutableBytes { body.copyBytes(to: $0) }
            ints = l.map { Int32($0) }
        } else { throw NSError(domain: "npy \(path): unsupported dtype in \(header)", code: 4) }
    }
}

func clock(_ id: clockid_t) -> Double { var t = timespec(); clock_gettime(id, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }
func now() -> Double { clock(CLOCK_MONOTONIC) }
/// CPU time of the calling thread: robust against other processes sharing the cores.
func threadCPU() -> Double { clock(CLOCK_THREAD_CPUTIME_ID) }
func processCPU() -> Double { clock(CLOCK_PROCESS_CPUTIME_ID) }

func rssBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let f = s.split(separator: " ")
    return (Int(f[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func emit(_ d: [String: Any]) {
    let j = try! JSONSerialization.data(withJSONObject: d, options: [.sortedKeys])
    FileHandle.standardOutput.write(j + Data([10]))
}

func recall(_ hits: [[IndexHit]], _ gt: NPY, k: Int) -> Double {
    let gk = gt.shape[1]
    var total = 0
    for (i, h) in hits.enumerated() {
        let truth = Set(gt.ints[(i * gk)..<(i * gk + k)].map { UInt32($0) })
        total += h.prefix(k).filter { truth.contains($0.row) }.count
    }
    return Double(total) / Double(hits.count * k)
}

let args = CommandLine.arguments
guard args.count >= 5 else {
    FileHandle.standardError.write("usage: quiver-ann-bench hnsw|flat BASE.npy QUERIES.npy GT.npy [...]\n".data(using: .utf8)!)
    exit(2)
}
let mode = args[1]
let base = try NPY(path: args[2]), queries = try NPY(path: args[3]), gt = try NPY(path: args[4])
let n = base.shape[0], dim = base.shape[1], nq = queries.shape[0]
let rows = (0..<n).map { UInt32($0) }

if mode == "hnsw" {
    let M = args.count > 5 ? Int(args[5])! : 16
    let efc = args.count > 6 ? Int(args[6])! : 200
    let efs = args.count > 7 ? args[7].split(separator: ",").map { Int($0)! } : [16, 32, 64, 128, 256]
    let repeats = args.count > 8 ? Int(args[8])! : 3
    let rss0 = rssBytes()
    let index = try HNSWIndex(dimension: dim, metric: .innerProduct, M: M, efConstruction: efc, seed: 1)
    let t0 = now(), c0 = processCPU()
    try base.floats.withUnsafeBufferPointer { try index.add(rows: rows, vectors: $0) }
    let build = now() - t0, buildCPU = processCPU() - c0
    emit(["lib": "quiver", "kind": "hnsw", "n": n, "dim": dim, "M": M, "efConstruction": efc, "build_s": build, "build_cpu_s": buildCPU,
          "rss_delta_mb": Double(rssBytes() - rss0) / 1_048_576, "index_mb": Double(index.memoryBytes) / 1_048_576])
    for ef in efs {
        var best = Double.infinity, bestCPU = Double.infinity
        var hits: [[IndexHit]] = []
        for _ in 0..<repeats {
            hits = []
            hits.reserveCapacity(nq)
            let t = now(), c = processCPU()
            try queries.floats.withUnsafeBufferPointer { qp in
                for i in 0..<nq {
                    hits.append(try index.search(UnsafeBufferPointer(rebasing: qp[(i * dim)..<((i + 1) * dim)]), k: 10, params: ["ef": Double(ef)], allow: nil))
                }
            }
            best = min(best, now() - t); bestCPU = min(bestCPU, processCPU() - c)
        }
        emit(["lib": "quiver", "kind": "hnsw", "ef": ef, "qps": Double(nq) / best, "cpu_qps": Double(nq) / bestCPU, "recall10": recall(hits, gt, k: 10)])
    }
} else if mode == "flat" {
    let repeats = args.count > 5 ? Int(args[5])! : 3
    let index = try FlatIndex(dimension: dim, metric: .innerProduct)
    try base.floats.withUnsafeBufferPointer { try index.add(rows: rows, vectors: $0) }
    var best = Double.infinity, hits: [[IndexHit]] = []
    for _ in 0..<repeats {
        let t = now()
        hits = try queries.floats.withUnsafeBufferPointer { try index.searchBatch($0, k: 10, params: [:], allow: nil) }
        best = min(best, now() - t)
    }
    emit(["lib": "quiver", "kind": "flat-batch", "threads": ProcessInfo.processInfo.activeProcessorCount, "seconds": best,
          "qps": Double(nq) / best, "recall10": recall(hits, gt, k: 10)])
    // One query at a time (each scan itself split over the cores).
    let single = min(nq, 200)
    var bestSingle = Double.infinity
    for _ in 0..<repeats {
        let t = now()
        try queries.floats.withUnsafeBufferPointer { qp in
            for i in 0..<single { _ = try index.search(UnsafeBufferPointer(rebasing: qp[(i * dim)..<((i + 1) * dim)]), k: 10, params: [:], allow: nil) }
        }
        bestSingle = min(bestSingle, now() - t)
    }
    emit(["lib": "quiver", "kind": "flat-single", "queries": single, "seconds": bestSingle, "qps": Double(single) / bestSingle])
} else {
    FileHandle.standardError.write("unknown mode \(mode)\n".data(using: .utf8)!)
    exit(2)
}
