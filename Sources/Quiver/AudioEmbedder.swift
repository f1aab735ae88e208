import Foundation
import QuiverMedia
import QuiverModels
import QuiverTensor

/// Embeds audio with a Whisper encoder: decode to 16 kHz mono float PCM (`AudioDecoder`, any
/// format FFmpeg reads) → log-mel → encoder → mean over the frames covering the audio, L2-normalized;
/// recordings over 30 s are cut into 30 s windows and their vectors averaged (duration-weighted).
///
/// Thread-safe; reuse one instance.
public final class AudioEmbedder: Sendable {
    /// The model's catalog name.
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
        modelName = resolved.entry.name
        model = try WhisperEncoderModel(folder: resolved.folder)
    }

    /// Embeds mono float PCM at 16 kHz (`dimension` floats, L2-normalized).
    public func embed(samples: [Float], threads: Int? = nil) throws -> [Float] {
        try model.embed(samples: samples, threads: threads ?? Parallel.defaultThreads)
    }

    /// Decodes and embeds an audio file (or a video's audio track).
    /// - Returns: the vector and the duration in seconds.
    /// - Throws: `MediaError` naming a file that cannot be decoded.
    public func embed(file url: URL, threads: Int? = nil) throws -> (vector: [Float], seconds: Double) {
        let audio = try AudioDecoder.decode(contentsOf: url)
        return (try embed(samples: audio.samples, threads: threads), Double(audio.samples.count) / 16_000)
    }
}
