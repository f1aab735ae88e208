import Foundation

/// The one place the engine creates and loads indexes (the Index module's `FlatIndex`,
/// `HNSWIndex`, `IVFFlatIndex`, `IVFSQ8Index`).
enum IndexFactory {
    /// Build parameters each kind accepts, with Milvus' defaults.
    static let buildParams: [IndexKind: [String: ClosedRange<Double>]] = [
        .flat: [:],
        .hnsw: ["M": 2...128, "efConstruction": 1...4096],
        .ivfFlat: ["nlist": 1...65536],
        .ivfSQ8: ["nlist": 1...65536, "rerank": 0...64],
    ]

    /// A new, empty index.
    static func make(_ info: IndexInfo, dimension: Int, metric: Metric) throws -> VectorIndex {
        let allowed = buildParams[info.kind] ?? [:]
        for (k, v) in info.params {
            guard let r = allowed[k] else {
                let known = allowed.keys.sorted()
                throw StoreError.invalidRequest("\(info.kind.rawValue) index: unknown build parameter '\(k)'" +
                    (known.isEmpty ? "; it takes none" : "; expected \(known.joined(separator: ", "))"))
            }
            guard v.isFinite, r.contains(v), v.rounded() == v else {
                throw StoreError.invalidRequest("\(info.kind.rawValue) index: build parameter \(k)=\(v) must be an integer in \(Int(r.lowerBound))...\(Int(r.upperBound))")
            }
        }
        func p(_ k: String, _ d: Int) -> Int { info.params[k].map { Int($0) } ?? d }
        switch info.kind {
        case .flat: return try FlatIndex(dimension: dimension, metric: metric)
        case .hnsw: return try HNSWIndex(dimension: dimension, metric: metric, M: p("M", 16), efConstruction: p("efConstruction", 200))
        case .ivfFlat: return try IVFFlatIndex(dimension: dimension, metric: metric, nlist: p("nlist", 128))
        case .ivfSQ8: return try IVFSQ8Index(dimension: dimension, metric: metric, nlist: p("nlist", 128), rerank: p("rerank", 0))
        }
    }

    /// Loads an index file; throws when it is missing, damaged or not the expected index.
    static func load(_ info: IndexInfo, path: String, dimension: Int, metric: Metric) throws -> VectorIndex {
        let index = try IndexFiles.load(path: path)
        guard index.kind == info.kind, index.dimension == dimension, index.metric == metric else {
            throw StoreError.corruptFile(path: path, reason: "holds a \(index.kind.rawValue) \(index.dimension)-d \(index.metric.rawValue) index, expected \(info.kind.rawValue) \(dimension)-d \(metric.rawValue)")
        }
        return index
    }

    /// The minimum number of vectors an index needs before it can be built (IVF trains on them).
    static func minimumRows(_ info: IndexInfo) -> Int {
        switch info.kind {
        case .ivfFlat, .ivfSQ8: return Int(info.params["nlist"] ?? 128)
        default: return 0
        }
    }
}
