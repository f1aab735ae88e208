import Foundation
import QuiverMedia
import QuiverModels
import QuiverTensor

/// One clip of a video embedded by the multimodal Perceiver, with the time span it covers.
public struct PerceiverClipEmbedding: Sendable, Equatable {
    /// Position of the clip in the video (0-based).
    public var index: Int
    /// Start of the clip in seconds (the first frame's slot).
    public var start: Double
    /// End of the clip in seconds (exclusive): the start plus `numFrames / 25`, cut at the end of
    /// the video for the last clip.
    public var end: Double
    /// The clip's embedding (``PerceiverMultimodalModel/embed(_:chunkRows:threads:)``: the mean over
    /// latents of the encoder's last hidden state, L2-normalized).
    public var vector: [Float]
}

/// Embeds videos with DeepMind's multimodal Perceiver (``PerceiverMultimodalModel``), frames and
/// sound together, one vector per clip plus the whole video's.
///
/// A video is cut into consecutive clips the size the model was trained on, each made as the
/// Perceiver IO Kinetics-700 pipeline makes its inputs:
/// - **frames**: the decoded frames resampled to 25 frames per second (the frame shown at each
///   1/25 s slot is taken, so slower videos repeat frames and faster ones skip some),
///   `num_frames` of them per clip (16: 0.64 s); each is cropped to its centred square, resized to
///   `image_size` x `image_size` (224) with an antialiased bilinear filter, and scaled to [0, 1]
///   per RGB channel;
/// - **sound**: the audio stream decoded to mono at `audio_samples_per_frame x 25` Hz (48 kHz)
///   through FFmpeg, in [-1, 1]; the clip takes the `num_frames x audio_samples_per_frame`
///   samples (30,720) from its start. A video without an audio stream, and the part of a clip past
///   the end of the sound, get zeros: digital silence, the value the model saw for silent input.
/// - the last clip, when the video does not fill it, repeats its last frame to `num_frames`
///   frames; its `end` is the end of the video.
///
/// The whole-video vector is the mean of the clip vectors, L2-normalized.
public final class PerceiverVideoEmbedder: Sendable {
    /// Frames per second of the clips (Kinetics videos at 25 fps, as the model was trained).
    public static let framesPerSecond = 25

    /// The model.
    public let model: PerceiverMultimodalModel
    /// A name for the model (its folder's path when loaded from a folder).
    public let modelName: String

    /// Width of the vectors (`d_latents`).
    public var dimension: Int { model.dimension }
    /// Audio sample rate the clips are decoded at (`audio_samples_per_frame x 25`: 48,000 Hz for the hub model).
    public var sampleRate: Int { model.config.audioSamplesPerFrame * Self.framesPerSecond }
    /// Seconds per clip (`num_frames / 25`).
    public var clipSeconds: Double { Double(model.config.numFrames) / Double(Self.framesPerSecond) }

    /// Uses a loaded model.
    public init(model: PerceiverMultimodalModel, name: String = "multimodal-perceiver") {
        self.model = model
        modelName = name
    }

    /// Loads a Hugging Face folder of a `PerceiverForMultimodalAutoencoding` checkpoint.
    public convenience init(folder: URL, name: String? = nil) throws {
        self.init(model: try PerceiverMultimodalModel(folder: folder), name: name ?? folder.path)
    }

    /// Loads an installed model by catalog name, hub id or folder (nothing is downloaded).
    /// - Throws: `HubError` when it is not installed; `QuiverError.unsupportedModality` for a
    ///   model that is not a multimodal Perceiver.
    public convenience init(model: String, home: ModelHome = .fromEnvironment()) throws {
        let resolved = try home.installedModel(model)
        guard resolved.entry.modality == .video else {
            throw QuiverError.unsupportedModality(model: resolved.entry.name, modality: "video clips (frames and sound together)",
                                                  supported: [resolved.entry.modality.rawValue])
        }
        // A folder given by path is named by its path, so a collection bound to it finds it again.
        try self.init(folder: resolved.folder, name: resolved.origin == .localFolder ? resolved.folder.path : resolved.entry.name)
    }

    /// The clips of `url` with their vectors, in time order, and the whole video's vector (nil
    /// when no frame was decoded).
    /// - Throws: `MediaError` naming the file when its video cannot be decoded.
    public func embed(contentsOf url: URL, threads: Int? = nil) throws -> (clips: [PerceiverClipEmbedding], whole: [Float]?) {
        let audio = try soundTrack(of: url)
        var clips: [PerceiverClipEmbedding] = []
        try clipFrames(of: url) { index, frames, start, end in
            let clip = makeClip(frames: frames, audio: audio, index: index)
            let v = try model.embed(clip, threads: threads ?? Parallel.defaultThreads)
            clips.append(PerceiverClipEmbedding(index: index, start: start, end: end, vector: v))
        }
        return (clips, Self.mean(clips.map(\.vector)))
    }

    /// The model inputs of every clip of `url` (frames and sound as described above), with their
    /// time spans: what ``embed(contentsOf:threads:)`` feeds the model.
    public func clips(contentsOf url: URL) throws -> [(clip: PerceiverClip, start: Double, end: Double)] {
        let audio = try soundTrack(of: url)
        var out: [(clip: PerceiverClip, start: Double, end: Double)] = []
        try clipFrames(of: url) { index, frames, start, end in
            out.append((makeClip(frames: frames, audio: audio, index: index), start, end))
        }
        return out
    }

    /// The mono sound track at ``sampleRate``, or empty for a video without an audio stream.
    func soundTrack(of url: URL) throws -> [Float] {
        do {
            return try AudioDecoder.decode(contentsOf: url, options: AudioDecodeOptions(sampleRate: sampleRate)).samples
        } catch MediaError.missingStream(_, _) {
            return []
        }
    }

    /// Calls `body` with each clip's frames (each `[3, size, size]` in [0, 1], `num_frames` of
    /// them) and its time span.
    func clipFrames(of url: URL, _ body: (Int, [Float], Double, Double) throws -> Void) throws {
        let decoder = try VideoDecoder(contentsOf: url)
        let c = model.config, size = c.frameSize, perFrame = 3 * size * size, fps = Double(Self.framesPerSecond)
        var frames: [Float] = []
        frames.reserveCapacity(c.numFrames * perFrame)
        var clipIndex = 0, slot = 0, last: [Float]?
        var t0 = 0.0, clipStart = 0.0, videoEnd = 0.0
        func flush(end: Double) throws {
            guard !frames.isEmpty else { return }
            while frames.count < c.numFrames * perFrame, let last { frames += last }
            try body(clipIndex, frames, clipStart, end)
            clipIndex += 1
            frames.removeAll(keepingCapacity: true)
        }
        while let f = try decoder.nextFrame() {
            if f.index == 0 { t0 = f.time }
            let frameEnd = f.time + max(f.duration, 0)
            videoEnd = max(videoEnd, frameEnd)
            // The slots this frame is shown in: slot times in [f.time, frameEnd) (the first frame
            // also takes the slots before it).
            var current: [Float]?
            while t0 + Double(slot) / fps < frameEnd - 1e-9 {
                if current == nil { current = try Self.pixels(decoder.currentImage(), size: size) }
                if frames.isEmpty { clipStart = t0 + Double(slot) / fps }
                frames += current!
                slot += 1
                if frames.count == c.numFrames * perFrame { try flush(end: t0 + Double(slot) / fps) }
            }
            if let current { last = current }
        }
        try flush(end: videoEnd)
    }

    /// The clip of `frames` with its sound: `numFrames * audioSamplesPerFrame` samples from the
    /// clip's first frame slot, zeros past the end of `audio`.
    func makeClip(frames: [Float], audio: [Float], index: Int) -> PerceiverClip {
        let c = model.config, count = c.audioSamplesPerClip, from = index * count
        var samples = [Float](repeating: 0, count: count)
        if from < audio.count {
            let n = min(count, audio.count - from)
            samples.replaceSubrange(0..<n, with: audio[from..<(from + n)])
        }
        return PerceiverClip(frames: frames, frameCount: c.numFrames, height: c.frameSize, width: c.frameSize, audio: samples)
    }

    /// The centred square of `image` resized to `size` x `size`, channel-first, scaled to [0, 1].
    static func pixels(_ image: RGBImage, size: Int) throws -> [Float] {
        let side = min(image.width, image.height)
        let square = image.cropped(left: (image.width - side) / 2, top: (image.height - side) / 2, width: side, height: side)
        let resized = side == size ? square : try square.resized(width: size, height: size, filter: .bilinear)
        var out = [Float](repeating: 0, count: 3 * size * size)
        let plane = size * size
        resized.pixels.withUnsafeBufferPointer { p in
            for i in 0..<plane {
                for ch in 0..<3 { out[ch * plane + i] = Float(p[i * 3 + ch]) / 255 }
            }
        }
        return out
    }

    /// The mean of equally long vectors, L2-normalized; nil without vectors.
    public static func mean(_ vectors: [[Float]]) -> [Float]? {
        guard let first = vectors.first else { return nil }
        var m = [Double](repeating: 0, count: first.count)
        for v in vectors { for i in m.indices { m[i] += Double(v[i]) } }
        let norm = m.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return m.map { norm > 0 ? Float($0 / norm) : 0 }
    }
}
