// quiver-image-bench: throughput of Quiver's image models (used by bench/image/run.py).
//
//   quiver-image-bench image MODEL [--batch 16] [--threads N] [--repeat R]
//   quiver-image-bench text CLIP_FOLDER --ids IDS.json [--threads N] [--repeat R]
//
// MODEL is anything ImageModels.load recognizes. Images are `batch` synthetic 224x224 inputs made
// by the model's own normalization (the forward pass is what is timed; decoding and resizing
// are not). IDS.json is {"ids": [[int]]}. Prints one JSON line: items, seconds (best of R timed
// runs after one warm-up run), items/s, threads, BLAS core, SIMD level.
import Foundation
import QuiverMedia
import QuiverModels
import QuiverTensor

func fail(_ message: String) -> Never {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 2, ["image", "text"].contains(args[0]) else {
    fail("usage: quiver-image-bench image MODEL [--batch N] [--threads N] [--repeat R] | text CLIP_FOLDER --ids IDS.json [--threads N] [--repeat R]")
}
let mode = args.removeFirst(), path = args.removeFirst()
var batch = 16, threads = Parallel.defaultThreads, repeats = 3, idsPath = ""
while !args.isEmpty {
    let flag = args.removeFirst()
    guard let value = args.first else { fail("missing value after \(flag)") }
    args.removeFirst()
    switch flag {
    case "--batch": batch = Int(value) ?? batch
    case "--threads": threads = Int(value) ?? threads
    case "--repeat": repeats = max(1, Int(value) ?? 1)
    case "--ids": idsPath = value
    default: fail("unknown option \(flag)")
    }
}

@MainActor func time(_ body: () throws -> Void) rethrows -> Double {
    try body()  // warm-up
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return best
}

@MainActor func report(_ name: String, items: Int, seconds: Double) {
    let line: [String: Any] = ["model": name, "items": items, "seconds": seconds, "items_per_s": Double(items) / seconds,
                               "threads": threads, "blas": BLAS.prepared, "simd": SIMDLevel.current.name]
    let data = try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(data: data, encoding: .utf8)!)
}

do {
    let url = URL(fileURLWithPath: path)
    if mode == "image" {
        let model = try ImageModels.load(url)
        var state: UInt64 = 12345
        let images: [ImageTensor] = try (0..<batch).map { _ in
            let pixels = (0..<(224 * 224 * 3)).map { _ -> UInt8 in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 56)
            }
            return model.preprocessor.normalized(try RGBImage(width: 224, height: 224, pixels: pixels))
        }
        var out: [[Float]] = []
        let s = try time { out = try model.embed(images, threads: threads) }
        precondition(out.count == batch && out[0].count == model.dimension)
        report(model.name, items: batch, seconds: s)
    } else {
        let model = try CLIPModel(folder: url)
        struct IDs: Decodable { let ids: [[Int]] }
        let ids = try JSONDecoder().decode(IDs.self, from: Data(contentsOf: URL(fileURLWithPath: idsPath))).ids
        let s = try time { _ = try model.embed(tokenIDs: ids, threads: threads) }
        report(model.name + " text", items: ids.count, seconds: s)
    }
} catch {
    fail("\(error)")
}
