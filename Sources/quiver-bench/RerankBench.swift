// quiver-bench rerank: cross-encoder throughput of Quiver.CrossEncoder (used by bench/relevance/rerank.py).
//
//   quiver-bench rerank --model FOLDER --pairs PAIRS.json [--threads N] [--repeat R]
//
// PAIRS.json is {"pairs": [[query, document]]}. Loads the cross-encoder folder (config.json with
// BertForSequenceClassification or XLMRobertaForSequenceClassification, model.safetensors,
// tokenizer.json) untimed, then scores all pairs with `CrossEncoder.scores(_:threads:)` (tokenize
// each pair together, truncate to the model's max length, forward passes of 16 pairs spread over
// the threads, sigmoid): one warm-up run, then the best of R.
// Prints one JSON line: pairs, tokens, seconds, pairs/s, process CPU seconds of the best run and
// the scores (for comparing with sentence-transformers).
import Foundation
import Quiver
import QuiverTensor

struct RerankBenchPairs: Decodable { let pairs: [[String]] }

func rerankBench(_ arguments: [String]) -> Never {
    var model = "", pairsFile = "", threads = Parallel.defaultThreads, repeats = 3
    forEachFlag(arguments) { flag, value in
        switch flag {
        case "--model": model = value
        case "--pairs": pairsFile = value
        case "--threads": threads = max(1, Int(value) ?? threads)
        case "--repeat": repeats = max(1, Int(value) ?? repeats)
        default: fail("unknown option \(flag)")
        }
    }
    guard !model.isEmpty, !pairsFile.isEmpty else { fail("usage: quiver-bench rerank --model FOLDER --pairs PAIRS.json [--threads N] [--repeat R]") }
    do {
        let raw = try JSONDecoder().decode(RerankBenchPairs.self, from: Data(contentsOf: URL(fileURLWithPath: pairsFile))).pairs
        guard raw.allSatisfy({ $0.count == 2 }) else { fail("quiver-bench rerank: every pair must be [query, document]") }
        let pairs = raw.map { (query: $0[0], document: $0[1]) }
        let loadStart = Date()
        let encoder = try CrossEncoder(folder: URL(fileURLWithPath: model))
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let tokens = pairs.reduce(0) { $0 + encoder.tokenize(query: $1.query, document: $1.document).ids.count }
        var scores = try encoder.scores(pairs, threads: threads)  // warm-up
        var best = Double.infinity, bestCPU = 0.0
        var runs: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds, c0 = benchCPUSeconds()
            scores = try encoder.scores(pairs, threads: threads)
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            runs.append(s)
            if s < best { best = s; bestCPU = benchCPUSeconds() - c0 }
        }
        let scoresJSON = "[" + scores.map { String(format: "%.7g", $0) }.joined(separator: ",") + "]"
        print("{\"pairs\": \(pairs.count), \"tokens\": \(tokens), \"threads\": \(threads), \"max_length\": \(encoder.maxLength), " +
              "\"seconds\": \(String(format: "%.4f", best)), \"runs\": [\(runs.map { String(format: "%.4f", $0) }.joined(separator: ","))], " +
              "\"pairs_per_second\": \(String(format: "%.1f", Double(pairs.count) / best)), \"cpu_seconds\": \(String(format: "%.4f", bestCPU)), " +
              "\"load_seconds\": \(String(format: "%.3f", loadSeconds)), \"scores\": \(scoresJSON)}")
        exit(0)
    } catch {
        fail("quiver-bench rerank: \(error)")
    }
}
