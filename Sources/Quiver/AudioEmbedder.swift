import Foundation
import QuiverMedia
import QuiverModels
import QuiverTensor

/// One 30 s window of a recording (the last one may be shorter) and its vector.
public struct AudioWindowEmbedding: Sendable, Equatable {
    /// Start of the span the window covers, in seconds from the start of the recording.
    public var start: Double
    /// End of the span (exclusive), in seconds; `start + 30` except for the last window.
    public var end: Double
    /// The window's vector (`dimension` floats, L2-normalized).
    public var vector: [Float]
}

/// Embeds audio with a Whisper encoder: decode to 16 kHz mono float PCM (`AudioDecoder`, any
/// format FFmpeg reads) → log-mel → encoder → mean over the frames covering the audio, L2-normalized;
/// recordings over 30 s are cut into 30 s windows and their vectors averaged (duration-weighted).
/// `embedWindows` gives the window vectors too (one encoder pass per window either way).
///
/// Thread-safe; reuse one instance.
public final class AudioEmbedder: Sendable {
    /// The model's catalog name (or the folder path it was loaded from).
    public let modelName: String
    private let model: WhisperEncoderModel
    /// Width of the vectors (512 for faster-whisper-base, 384 for tiny).
    public var dimension: Int { model.dimension }

    /// Loads a Whisper model (faster-whisper CTranslate2 folder or Hugging Face folder) from `home`.
    /// - Throws: `HubError.unknownModel`, `QuiverError.modelNotInstalled` / `.unsupportedModality`,
    ///   or the loader's errors naming the file.
    public init(model name: String, home: ModelHome = .fromEnvironment()) throws {
        let resolved = try home.installedModel(name)
        guard resolved.entry.modality == .audio else {
            throw QuiverError.unsupportedModality(model: resolved.entry.name, modality: "audio", supported: [resolved.entry.modality.rawValue])
        }
        // A folder given as a path is named by its path, so a collection's model id finds it again.
        modelName = resolved.origin == .localFolder ? resolved.folder.path : resolved.entry.name
        model = try WhisperEncoderModel(folder: resolved.folder)
    }

    /// Embeds mono float PCM at 16 kHz (`dimension` floats, L2-normalized).
    public func embed(samples: [Float], threads: Int? = nil) throws -> [Float] {
        try model.embed(samples: samples, threads: threads ?? Parallel.defaultThreads)
    }

    /// Embeds mono float PCM at 16 kHz window by window: the vector of each 30 s window (the last
    /// one may be shorter) with its time span, and the whole recording's vector (the windows'
    /// duration-weighted mean, L2-normalized: exactly `embed(samples:)`).
    /// - Throws: `ModelsError.invalidInput` for empty audio.
    public func embedWindows(samples: [Float], threads: Int? = nil) throws -> (windows: [AudioWindowEmbedding], whole: [Float]) {
        let w = try model.embedWindows(samples: samples, threads: threads ?? Parallel.defaultThreads)
        let rate = Double(WhisperEncoderModel.sampleRate)
        let windows = zip(w.windows, w.sampleRanges).map { v, r in
            AudioWindowEmbedding(start: Double(r.lowerBound) / rate, end: Double(r.upperBound) / rate, vector: v)
        }
        return (windows, w.mean)
    }

    /// Embeds a decoded stream window by window, reading at most `windowsPerBatch` 30 s windows
    /// (16 kHz mono) at a time, so a long sound track never sits in memory whole. The windows and
    /// their vectors are those of `embedWindows(samples:)` on the whole stream.
    /// - Returns: the windows in time order (empty for a stream without samples).
    /// - Throws: `MediaError` naming the file when decoding fails midway; `QuiverError.unreadableInput`
    ///   for a reader at another rate than 16 kHz.
    public func embedWindows(reading reader: AudioReader, windowsPerBatch: Int? = nil, threads: Int? = nil) throws -> [AudioWindowEmbedding] {
        guard reader.sampleRate == WhisperEncoderModel.sampleRate else {
            throw QuiverError.unreadableInput(path: reader.url.path, reason: "read at \(reader.sampleRate) Hz; the Whisper encoder takes \(WhisperEncoderModel.sampleRate) Hz")
        }
        let per = WhisperEncoderModel.windowSamples
        let threads = threads ?? Parallel.defaultThreads
        let batchSize = max(1, windowsPerBatch ?? threads)
        var out: [AudioWindowEmbedding] = []
        var buffer = [Float](repeating: 0, count: per)
        var offset = 0
        var done = false
        while !done {
            var batch: [[Float]] = []
            while batch.count < batchSize {
                var filled = 0
                while filled < per {
                    let n = try buffer.withUnsafeMutableBufferPointer { b in
                        try reader.read(into: UnsafeMutableBufferPointer(rebasing: b[filled...]))
                    }
                    if n == 0 { done = true; break }
                    filled += n
                }
                if filled > 0 { batch.append(Array(buffer[0..<filled])) }
                if done { break }
            }
            if batch.isEmpty { break }
            let vectors = try model.embed(batch: batch, threads: threads)
            let rate = Double(WhisperEncoderModel.sampleRate)
            for (w, v) in zip(batch, vectors) {
                out.append(AudioWindowEmbedding(start: Double(offset) / rate, end: Double(offset + w.count) / rate, vector: v))
                offset += w.count
            }
        }
        return out
    }

    /// The whole recording's vector from its windows (as ``embedWindows(reading:windowsPerBatch:threads:)``
    /// gives them): the mean weighted by the encoder frames each window covers, L2-normalized —
    /// the `whole` of ``embedWindows(samples:threads:)``, without holding the samples.
    /// - Returns: the only window's vector for one window; nil for none.
    public static func mean(of windows: [AudioWindowEmbedding]) -> [Float]? {
        guard let first = windows.first else { return nil }
        if windows.count == 1 { return first.vector }
        let rate = Double(WhisperEncoderModel.sampleRate)
        let frames = windows.map { Double(WhisperLogMel.encoderFrames(covering: Int((($0.end - $0.start) * rate).rounded()))) }
        let total = frames.reduce(0, +)
        var mean = [Float](repeating: 0, count: first.vector.count)
        for (w, f) in zip(windows, frames) { for j in mean.indices { mean[j] += Float(f / total) * w.vector[j] } }
        let norm = mean.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { for j in mean.indices { mean[j] /= norm } }
        return mean
    }

    /// Decodes and embeds an audio file (or a video's audio track).
    /// - Returns: the vector and the duration in seconds.
    /// - Throws: `MediaError` naming a file that cannot be decoded.
    public func embed(file url: URL, threads: Int? = nil) throws -> (vector: [Float], seconds: Double) {
        let audio = try AudioDecoder.decode(contentsOf: url)
        return (try embed(samples: audio.samples, threads: threads), Double(audio.samples.count) / 16_000)
    }
}
