// quiver-bench whisper: throughput of the Whisper encoder on 30 s windows (used by bench/audio/run.py).
//
//   quiver-bench whisper --model FOLDER [--windows N] [--threads T] [--repeat R] [--mode intra|across]
//
// Audio: N windows of 30 s of a deterministic chirp-plus-noise signal (speed does not depend on the
// content: every window is a full 1500-frame encoder pass). Timed: the encoder on precomputed
// log-mel features (what the PyTorch side runs), and separately the log-mel features alone.
// `--mode intra` (default) runs one window at a time on all threads; `across` gives each thread
// whole windows (single-threaded inside). Prints one JSON line.
import Foundation
import QuiverModels
import QuiverTensor

func whisperBench(_ arguments: [String]) -> Never {
    var model = "", windows = 4, threads = Parallel.defaultThreads, repeats = 3, mode = "intra"
    forEachFlag(arguments) { flag, value in
        switch flag {
        case "--model": model = value
        case "--windows": windows = max(1, Int(value) ?? windows)
        case "--threads": threads = max(1, Int(value) ?? threads)
        case "--repeat": repeats = max(1, Int(value) ?? repeats)
        case "--mode": mode = value
        default: fail("unknown option \(flag)")
        }
    }
    guard mode == "intra" || mode == "across" else { fail("--mode must be intra or across") }
    do {
        let m = try WhisperEncoderModel(folder: URL(fileURLWithPath: model))
        var state: UInt64 = 42
        let audio: [[Float]] = (0..<windows).map { w in
            (0..<480_000).map { i in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let noise = Float(Int64(bitPattern: state >> 11) % 1000) / 100_000
                let t = Double(i) / 16000
                return Float(0.3 * sin(2 * Double.pi * (200 + 50 * Double(w) + 100 * t) * t)) + noise
            }
        }
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        var t0 = now()
        let features = audio.map { m.logMel.features($0, threads: threads) }
        let melSeconds = (now() - t0) / Double(windows)
        let workspaces = (0..<threads).map { _ in Workspace() }
        var checksum = 0.0
        func run() {
            switch mode {
            case "intra":
                for f in features {
                    let h = f.withUnsafeBufferPointer { m.encoder.forward(features: $0.baseAddress!, workspace: workspaces[0], threads: threads) }
                    checksum += Double(h[0])
                }
            default:
                let lock = NSLock()
                nonisolated(unsafe) var next = 0
                Parallel.forEach(threads, threads: threads) { w in
                    while true {
                        lock.lock(); let i = next; next += 1; lock.unlock()
                        guard i < features.count else { return }
                        _ = features[i].withUnsafeBufferPointer { m.encoder.forward(features: $0.baseAddress!, workspace: workspaces[w], threads: 1) }
                    }
                }
            }
        }
        run()  // warm-up
        var runs: [Double] = []
        for _ in 0..<repeats {
            t0 = now()
            run()
            runs.append(now() - t0)
        }
        let best = runs.min()!
        print("{\"model\": \"\(URL(fileURLWithPath: model).lastPathComponent)\", \"windows\": \(windows), \"threads\": \(threads), \"mode\": \"\(mode)\", " +
              "\"encoder_seconds\": \(String(format: "%.3f", best)), \"runs\": [\(runs.map { String(format: "%.3f", $0) }.joined(separator: ","))], " +
              "\"windows_per_second\": \(String(format: "%.3f", Double(windows) / best)), \"log_mel_ms_per_window\": \(String(format: "%.2f", melSeconds * 1000)), " +
              "\"simd\": \"\(SIMDLevel.current.name)\", \"blas_core\": \"\(BLAS.prepared)/\(BLAS.coreName)\", \"d_model\": \(m.dimension)}")
        exit(0)
    } catch {
        fail("quiver-bench whisper: \(error)")
    }
}
