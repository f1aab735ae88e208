// quiver-bench: throughput benchmark of Quiver's text embedding (used by bench/text/run.py);
// `quiver-bench whisper ...` benchmarks the Whisper encoder (WhisperBench.swift, bench/audio/run.py);
// `quiver-bench milvus ...` ingests and searches through a Milvus server (MilvusBench.swift, bench/milvus/run.py);
// `quiver-bench bm25|hybrid|rerank ...`: BM25 index speed, hybrid query latency and cross-encoder
// throughput (BM25Bench.swift, HybridBench.swift, RerankBench.swift; bench/relevance/*.py).
//
//   quiver-bench text --model FOLDER (--ids IDS.json | --texts TEXTS.json) [--threads N] [--repeat R] [--out VECTORS.f32] [--precision fp32|int8]
//
// IDS.json is {"ids": [[int]]}: token ids per text, already tokenized (bench/text/run.py makes them
// with the `tokenizers` library and the model's tokenizer.json): measures the model alone.
// TEXTS.json is {"texts": [string]}: end to end through Quiver.TextEmbedder (Swift tokenizer,
// truncation at max_seq_length, model, pooling, normalization).
// Prints one JSON line: texts, tokens, seconds (best of R timed runs after one warm-up run), texts/s,
// and the process CPU seconds of that run (a load-independent cost measure on a shared machine).
import Foundation
import Quiver
import QuiverModels
import QuiverTensor

struct Options {
    var model = ""
    var ids = ""
    var texts = ""
    var threads = Parallel.defaultThreads
    var repeats = 3
    var out: String?
    var batchTokens: Int?
    var precision: QuiverTensor.Precision = .float32
}

/// Calls `body` with each `--flag value` pair of `arguments`, in order; a flag without a value fails.
func forEachFlag(_ arguments: [String], _ body: (_ flag: String, _ value: String) -> Void) {
    var args = arguments[...]
    while let flag = args.popFirst() {
        guard let value = args.popFirst() else { fail("missing value after \(flag)") }
        body(flag, value)
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
if args.first == "whisper" { whisperBench(Array(args.dropFirst())) }
if args.first == "milvus" { await milvusBench(Array(args.dropFirst())) }
if args.first == "bm25" { await bm25Bench(Array(args.dropFirst())) }
if args.first == "hybrid" { await hybridBench(Array(args.dropFirst())) }
if args.first == "rerank" { rerankBench(Array(args.dropFirst())) }
if args.first == "perceiver" { perceiverBench(Array(args.dropFirst())) }
guard args.first == "text" else { fail("usage: quiver-bench text --model FOLDER --ids IDS.json [--threads N] [--repeat R] [--out FILE] [--batch-tokens N]") }
args.removeFirst()
var o = Options()
while !args.isEmpty {
    let flag = args.removeFirst()
    guard let value = args.first else { fail("missing value after \(flag)") }
    args.removeFirst()
    switch flag {
    case "--model": o.model = value
    case "--ids": o.ids = value
    case "--texts": o.texts = value
    case "--threads": o.threads = Int(value) ?? o.threads
    case "--repeat": o.repeats = max(1, Int(value) ?? 1)
    case "--out": o.out = value
    case "--batch-tokens": o.batchTokens = Int(value)
    case "--precision": o.precision = QuiverTensor.Precision(name: value) ?? { fail("--precision must be fp32 or int8, got \(value)") }()
    default: fail("unknown option \(flag)")
    }
}

struct IDs: Decodable { let ids: [[Int32]] }
struct Texts: Decodable { let texts: [String] }
do {
    let loadStart = Date()
    let model = try SentenceTransformer(folder: URL(fileURLWithPath: o.model), precision: o.precision)
    if let b = o.batchTokens { model.maxBatchTokens = b }
    var embedder: TextEmbedder?
    var texts: [String] = []
    var ids: [[Int32]] = []
    if !o.texts.isEmpty {
        embedder = try TextEmbedder(folder: URL(fileURLWithPath: o.model), precision: o.precision)
        texts = try JSONDecoder().decode(Texts.self, from: Data(contentsOf: URL(fileURLWithPath: o.texts))).texts
        ids = texts.map { embedder!.tokenize($0).prefix(model.maxSequenceLength).map(Int32.init) }  // token counts only
    } else {
        ids = try JSONDecoder().decode(IDs.self, from: Data(contentsOf: URL(fileURLWithPath: o.ids))).ids
    }
    let loadSeconds = Date().timeIntervalSince(loadStart)
    func run() throws -> [Float] {
        if let embedder { return try embedder.embed(texts, threads: o.threads).vectors.flatMap { $0 } }
        return try model.embedFlat(tokenIDs: ids, threads: o.threads)
    }
    var vectors = try run()  // warm-up (workspaces, page-in)
    var best = Double.infinity, bestCPU = 0.0
    var all: [Double] = []
    func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    for _ in 0..<o.repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = cpuSeconds()
        vectors = try run()
        let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        all.append(s)
        if s < best { best = s; bestCPU = cpuSeconds() - c0 }
    }
    if let out = o.out {
        try vectors.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: out))
    }
    let tokens = ids.reduce(0) { $0 + $1.count }
    let runs = all.map { String(format: "%.3f", $0) }.joined(separator: ",")
    print("{\"mode\": \"\(embedder == nil ? "ids" : "texts")\", \"texts\": \(ids.count), \"tokens\": \(tokens), \"threads\": \(o.threads), \"seconds\": \(String(format: "%.4f", best)), " +
          "\"runs\": [\(runs)], \"texts_per_second\": \(String(format: "%.1f", Double(ids.count) / best)), " +
          "\"cpu_seconds\": \(String(format: "%.4f", bestCPU)), \"load_seconds\": \(String(format: "%.3f", loadSeconds)), \"simd\": \"\(SIMDLevel.current.name)\", \"blas_core\": \"\(BLAS.prepared)/\(BLAS.coreName)\", \"dimension\": \(model.dimension), \"precision\": \"\(o.precision.rawValue)\", \"int8_form\": \"\(Int8Kernels.formName())\"}")
} catch {
    fail("quiver-bench: \(error)")
}
