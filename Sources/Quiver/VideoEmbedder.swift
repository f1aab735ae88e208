import Foundation
import QuiverMedia

/// One embedded moment of a video: a sampled frame and the time span it stands for.
public struct VideoFrameEmbedding: Sendable {
    /// Index of the frame in the decoded stream (0-based).
    public var frameIndex: Int
    /// Presentation time of the frame, in seconds.
    public var time: Double
    /// Start of the span `[start, end)` the frame stands for, in seconds.
    public var start: Double
    /// End of that span (exclusive), in seconds.
    public var end: Double
    /// The image model's vector of the frame.
    public var vector: [Float]
}

/// Embeds videos through an image model: frames sampled with `VideoSampling` (default one per
/// second), each embedded like an image, and the whole video as the mean of its frame vectors.
/// Frame vectors live in the image model's space, so image queries find video moments.
public struct VideoEmbedder: Sendable {
    /// The image model that embeds the frames.
    public let images: ImageEmbedder
    /// Which frames are embedded (default: one per second).
    public let sampling: VideoSampling
    /// Frames embedded per model call.
    public var batchSize = 8

    /// Embeds the frames chosen by `sampling` with `images`.
    public init(images: ImageEmbedder, sampling: VideoSampling = .default) { self.images = images; self.sampling = sampling }

    /// The sampled frames of `url` with their vectors, in time order.
    /// - Throws: `MediaError` naming the file when it cannot be decoded.
    public func embedFrames(contentsOf url: URL, threads: Int? = nil) throws -> [VideoFrameEmbedding] {
        let decoder = try VideoDecoder(contentsOf: url)
        var out: [VideoFrameEmbedding] = []
        var batch: [VideoFrame] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            let v = try images.embed(images: batch.map(\.image), threads: threads)
            for (f, vec) in zip(batch, v) {
                out.append(VideoFrameEmbedding(frameIndex: f.index, time: f.time, start: f.start, end: f.end, vector: vec))
            }
            batch.removeAll(keepingCapacity: true)
        }
        _ = try decoder.frames(sampling) { frame in
            batch.append(frame)
            if batch.count >= batchSize { try flush() }
        }
        try flush()
        return out
    }

    /// The mean of the frame vectors (the whole-video vector), or nil without frames.
    public static func mean(_ frames: [VideoFrameEmbedding]) -> [Float]? {
        guard let first = frames.first else { return nil }
        var m = [Float](repeating: 0, count: first.vector.count)
        for f in frames { for i in m.indices { m[i] += f.vector[i] } }
        let n = Float(frames.count)
        return m.map { $0 / n }
    }
}
