// quiver-bench perceiver: one 16-frame clip through DeepMind's multimodal Perceiver encoder
// (used by bench/perceiver/run.py).
//
//   quiver-bench perceiver --model FOLDER [--threads T] [--repeat R] [--chunk-rows N]
//
// FOLDER is a Hugging Face folder (config.json + model.safetensors or pytorch_model.bin) of
// PerceiverForMultimodalAutoencoding. The clip is made by a formula (pixel i of the
// [frames, 3, size, size] array 0.5 + 0.5 sin(0.013 i + 0.3), sample j 0.6 sin(0.0021 j + 0.1)
// cos(0.00037 j); bench/perceiver/run.py feeds PyTorch the same) at the configuration's trained
// size. Timed: the model's input rows, cross-attention and latent self-attention, i.e. the
// embedding (one warm-up run, then the best of R). Prints one JSON line: seconds (best), all
// runs, the process CPU seconds of the
// fastest-CPU run (a load-independent cost), load seconds, the embedding, and the working-memory estimate of the encoder.
import Foundation
import QuiverModels
import QuiverTensor

func perceiverBench(_ arguments: [String]) -> Never {
    var model = "", threads = Parallel.defaultThreads, repeats = 2, chunkRows = PerceiverMultimodalModel.defaultChunkRows
    forEachFlag(arguments) { flag, value in
        switch flag {
        case "--model": model = value
        case "--threads": threads = max(1, Int(value) ?? threads)
        case "--repeat": repeats = max(1, Int(value) ?? repeats)
        case "--chunk-rows": chunkRows = max(1, Int(value) ?? chunkRows)
        default: fail("unknown option \(flag)")
        }
    }
    guard !model.isEmpty else { fail("usage: quiver-bench perceiver --model FOLDER [--threads T] [--repeat R] [--chunk-rows N]") }
    func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    func cpu() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    do {
        var t0 = now()
        let m = try PerceiverMultimodalModel(folder: URL(fileURLWithPath: model))
        let loadSeconds = now() - t0
        let c = m.config, size = c.frameSize, frames = c.numFrames, samples = c.audioSamplesPerClip
        let pixels = (0..<(frames * 3 * size * size)).map { Float(0.5 + 0.5 * sin(0.013 * Double($0) + 0.3)) }
        let audio = (0..<samples).map { j -> Float in
            let x = Double(j)
            return Float(0.6 * sin(0.0021 * x + 0.1) * cos(0.00037 * x))
        }
        let clip = PerceiverClip(frames: pixels, frameCount: frames, height: size, width: size, audio: audio)
        var embedding: [Float] = []
        var runs: [Double] = [], cpuRuns: [Double] = []
        for r in 0...repeats {
            t0 = now()
            let c0 = cpu()
            embedding = try m.embed(clip, chunkRows: chunkRows, threads: threads)
            if r > 0 { runs.append(now() - t0); cpuRuns.append(cpu() - c0) }
        }
        let result: [String: Any] = [
            "seconds": runs.min()!, "runs": runs, "cpu_seconds": cpuRuns.min()!, "load_seconds": loadSeconds, "threads": threads, "chunk_rows": chunkRows,
            "input_rows": m.inputRowCount(frames: frames, height: size, width: size, audioSamples: samples),
            "working_bytes": PerceiverMultimodalModel.peakWorkingBytes(config: c, chunkRows: chunkRows, threads: threads),
            "embedding": embedding.map(Double.init),
        ]
        let data = try JSONSerialization.data(withJSONObject: result)
        print(String(decoding: data, as: UTF8.self))
        exit(0)
    } catch {
        fail("perceiver bench: \(error)")
    }
}
