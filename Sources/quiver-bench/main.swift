// quiver-bench: throughput benchmark of Quiver's text embedding (used by bench/text/run.py);
// `quiver-bench whisper ...` benchmarks the Whisper encoder (WhisperBench.swift, bench/audio/run.py).
//
//   quiver-bench text --model FOLDER --ids IDS.json [--threads N] [--repeat R] [--out VECTORS.f32]
//
// IDS.json is {"ids": [[int]]}: token ids per text, already tokenized (until QuiverTokenizers lands,
// bench/text/run.py tokenizes with the `tokenizers` library and the model's tokenizer.json).
// Prints one JSON line: texts, tokens, seconds (best of R timed runs after one warm-up run), texts/s.
import Foundation
import QuiverModels
import QuiverTensor

struct Options {
    var model = ""
    var ids = ""
    var threads = Parallel.defaultThreads
    var repeats = 3
    var out: String?
    var batchTokens: Int?
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
if args.first == "whisper" { whisperBench(Array(args.dropFirst())) }
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
    case "--threads": o.threads = Int(value) ?? o.threads
    case "--repeat": o.repeats = max(1, Int(value) ?? 1)
    case "--out": o.out = value
    case "--batch-tokens": o.batchTokens = Int(value)
    default: fail("unknown option \(flag)")
    }
}

struct IDs: Decodable { let ids: [[Int32]] }
do {
    let ids = try JSONDecoder().decode(IDs.self, from: Data(contentsOf: URL(fileURLWithPath: o.ids))).ids
    let loadStart = Date()
    let model = try SentenceTransformer(folder: URL(fileURLWithPath: o.model))
    if let b = o.batchTokens { model.maxBatchTokens = b }
    let loadSeconds = Date().timeIntervalSince(loadStart)
    var vectors = try model.embedFlat(tokenIDs: ids, threads: o.threads)  // warm-up (workspaces, page-in)
    var best = Double.infinity
    var all: [Double] = []
    for _ in 0..<o.repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        vectors = try model.embedFlat(tokenIDs: ids, threads: o.threads)
        let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        all.append(s)
        best = min(best, s)
    }
    if let out = o.out {
        try vectors.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: out))
    }
    let tokens = ids.reduce(0) { $0 + $1.count }
    let runs = all.map { String(format: "%.3f", $0) }.joined(separator: ",")
    print("{\"texts\": \(ids.count), \"tokens\": \(tokens), \"threads\": \(o.threads), \"seconds\": \(String(format: "%.4f", best)), " +
          "\"runs\": [\(runs)], \"texts_per_second\": \(String(format: "%.1f", Double(ids.count) / best)), " +
          "\"load_seconds\": \(String(format: "%.3f", loadSeconds)), \"simd\": \"\(SIMDLevel.current.name)\", \"blas_core\": \"\(BLAS.prepared)/\(BLAS.coreName)\", \"dimension\": \(model.dimension)}")
} catch {
    fail("quiver-bench: \(error)")
}
