import CQuiverAV
import Foundation

/// Options of `VideoDecoder`.
public struct VideoDecodeOptions: Sendable, Equatable {
    /// Decoder threads; 0 lets FFmpeg choose (one per core). Threading never changes the pixels.
    public var threads: Int
    /// Drop packets the decoder rejects instead of throwing `MediaError.corruptMedia`. Default false.
    public var tolerateDamage: Bool

    /// Options for a video decoder.
    /// - Parameters:
    ///   - threads: FFmpeg decoder threads, 0 for automatic (must not be negative).
    ///   - tolerateDamage: skip packets the decoder rejects instead of throwing (default false).
    public init(threads: Int = 0, tolerateDamage: Bool = false) {
        self.threads = threads
        self.tolerateDamage = tolerateDamage
    }
}

/// What the container says about the decoded video stream (FFmpeg's "best" video stream).
public struct VideoInfo: Sendable, Equatable {
    /// FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm".
    public var container: String
    /// Codec name, e.g. "h264", "hevc", "vp9", "mpeg4".
    public var codec: String
    /// Pixel format of the coded frames, e.g. "yuv420p".
    public var pixelFormat: String
    /// Coded frame size in pixels.
    public var width: Int
    /// Coded frame height in pixels.
    public var height: Int
    /// Average frame rate in frames per second, nil when the container does not say.
    public var frameRate: Double?
    /// Number of frames the container declares (`nb_frames`), nil when it does not. The decoded
    /// count can differ for damaged files; `VideoDecoder.countFrames` counts packets instead.
    public var declaredFrameCount: Int?
    /// Duration in seconds from the stream or container header, nil when unknown.
    public var duration: Double?
    /// Timestamp of the stream's first frame in seconds (0 when unknown).
    public var startTime: Double
    /// True when the file also has an audio stream (decode it with `AudioDecoder`).
    public var hasAudio: Bool
}

/// A sampled frame, converted to RGB.
public struct VideoFrame: Sendable, Equatable {
    /// Position in decode output order: the n-th frame the decoder returned (0-based).
    public var index: Int
    /// Presentation time in seconds: pts × time_base as PyAV's `frame.time` (a frame without a
    /// timestamp gets first frame's time + index / frame rate).
    public var time: Double
    /// The time span this sample stands for, in seconds (see `VideoSampling`).
    public var start: Double
    /// End of the time span this sample stands for, in seconds (exclusive; the video's end for the last sample).
    public var end: Double
    /// The frame as 8-bit RGB (swscale's rgb24 conversion), ready for `ImagePreprocessor`.
    public var image: RGBImage
}

/// Decodes video files with FFmpeg, frame by frame, and converts the frames you keep to RGB
/// exactly as PyAV's `frame.to_ndarray(format="rgb24")` does: libswscale, `SWS_BILINEAR`, the
/// frame's colorspace and range (BT.601 limited range when unspecified), same size.
///
/// Use `frames(_:)` / `sample(contentsOf:sampling:)` for the sampled frames, or `nextFrame()` +
/// `currentImage()` to drive decoding yourself. Not thread-safe: one decoder per task.
///
/// ```swift
/// let url = URL(fileURLWithPath: "clip.mp4")
/// let frames = try VideoDecoder.sample(contentsOf: url, sampling: .fps(1))    // one RGB frame per second
/// for f in frames { print(f.index, f.time, f.image.width, f.image.height) }
///
/// let decoder = try VideoDecoder(contentsOf: url)                            // or frame by frame
/// while let frame = try decoder.nextFrame() {
///     if frame.index % 30 == 0 { let rgb = try decoder.currentImage(); _ = rgb }
/// }
/// ```
public final class VideoDecoder {
    /// The file being decoded.
    public let url: URL
    /// The stream's header information.
    public let info: VideoInfo
    private var handle: OpaquePointer?
    private var decoded = 0
    private var origin: Double?
    private var last: DecodedVideoFrame?

    /// Timing of one decoded (not yet converted) frame.
    public struct DecodedVideoFrame: Sendable, Equatable {
        /// The n-th frame the decoder returned (0-based).
        public var index: Int
        /// Presentation time in seconds (see `VideoFrame.time`).
        public var time: Double
        /// The frame's duration in seconds (from the packet; 1 / frame rate when the container
        /// does not say, 0 when neither is known).
        public var duration: Double
        /// Frame width in pixels.
        public var width: Int
        /// Frame height in pixels.
        public var height: Int
    }

    /// Opens `url` and its video stream.
    public init(contentsOf url: URL, options: VideoDecodeOptions = VideoDecodeOptions()) throws {
        guard options.threads >= 0 else {
            throw MediaError.invalidArgument("VideoDecodeOptions.threads must be >= 0, got \(options.threads)")
        }
        self.url = url
        var raw = qav_video_info()
        var err = [CChar](repeating: 0, count: 512)
        var h: OpaquePointer?
        let status = qav_video_open(url.path, Int32(options.threads), options.tolerateDamage ? 1 : 0, &h, &raw, &err, err.count)
        if status < 0 {
            if !FileManager.default.fileExists(atPath: url.path) {
                throw MediaError.unreadableFile(path: url.path, reason: "no such file")
            }
            if status == -2 { throw MediaError.missingStream(path: url.path, kind: "video") }
            throw MediaError.unreadableMedia(path: url.path, reason: cText(err))
        }
        handle = h
        info = VideoInfo(
            container: avText(raw.container), codec: avText(raw.codec), pixelFormat: avText(raw.pixel_format),
            width: Int(raw.width), height: Int(raw.height),
            frameRate: raw.frame_rate > 0 ? raw.frame_rate : nil,
            declaredFrameCount: raw.frame_count > 0 ? Int(raw.frame_count) : nil,
            duration: raw.duration >= 0 ? raw.duration : nil, startTime: raw.start_time, hasAudio: raw.has_audio != 0)
    }

    deinit { qav_video_close(handle) }

    /// Frames decoded so far.
    public var decodedFrames: Int { decoded }
    /// Packets dropped because the decoder rejected them (only with `tolerateDamage`).
    public var skippedPackets: Int { qav_video_skipped_packets(handle) }

    /// Decodes the next frame; nil at the end of the stream. The frame stays current (for
    /// `currentImage()`) until the next call.
    public func nextFrame() throws -> DecodedVideoFrame? {
        var time = 0.0, duration = 0.0
        var w: Int32 = 0, h: Int32 = 0
        var err = [CChar](repeating: 0, count: 512)
        let r = qav_video_next(handle, &time, &duration, &w, &h, &err, err.count)
        if r < 0 {
            throw MediaError.corruptMedia(path: url.path, kind: "video", decodedSeconds: last.map { $0.time + $0.duration } ?? 0,
                                          reason: cText(err))
        }
        if r == 0 { last = nil; return nil }
        let rate = info.frameRate ?? 0
        if time.isNaN { time = (origin ?? 0) + (rate > 0 ? Double(decoded) / rate : 0) }
        if origin == nil { origin = time }
        if duration <= 0, rate > 0 { duration = 1 / rate }
        let frame = DecodedVideoFrame(index: decoded, time: time, duration: duration, width: Int(w), height: Int(h))
        decoded += 1
        last = frame
        return frame
    }

    /// Time of the first decoded frame (the origin of `VideoSampling.fps` intervals), nil before it.
    public var firstFrameTime: Double? { origin }

    /// The current frame (the last one `nextFrame()` returned) as RGB24.
    public func currentImage() throws -> RGBImage {
        guard let f = last else { throw MediaError.invalidArgument("currentImage() needs a frame: call nextFrame() first") }
        let stride = f.width * 3
        var err = [CChar](repeating: 0, count: 512)
        var status: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: stride * f.height) { buffer, count in
            status = qav_video_convert_rgb24(handle, buffer.baseAddress, Int32(stride), &err, err.count)
            count = status < 0 ? 0 : stride * f.height
        }
        if status < 0 {
            throw MediaError.corruptMedia(path: url.path, kind: "video", decodedSeconds: f.time, reason: cText(err))
        }
        return try RGBImage(width: f.width, height: f.height, pixels: pixels)
    }

    /// Counts the frames of the video stream of `url` by demuxing its packets (no decoding).
    /// Cheap; used by `uniform` sampling when the container declares no frame count.
    public static func countFrames(contentsOf url: URL) throws -> Int {
        var err = [CChar](repeating: 0, count: 512)
        let n = qav_video_count_packets(url.path, &err, err.count)
        if n == -2 { throw MediaError.missingStream(path: url.path, kind: "video") }
        if n < 0 { throw MediaError.unreadableMedia(path: url.path, reason: cText(err)) }
        return Int(n)
    }
}
