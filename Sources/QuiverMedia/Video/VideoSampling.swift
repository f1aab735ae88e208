import Foundation

/// Which decoded frames a video embedding uses. Frame `i` is the i-th frame the decoder
/// returns; `t(i)` its presentation time; `t0 = t(0)`; `T` the end of the video
/// (`t(last) + duration(last)`).
///
/// - `everyFrame`: every frame; sample i has `start = t(i)`, `end = t(i+1)` (the last: `T`).
/// - `fps(R)`: interval k covers `[t0 + k/R, t0 + (k+1)/R)`; its sample is the first decoded frame
///   whose time falls in it (`floor((t(i) − t0)·R)` = k, a frame whose time is before that of an
///   earlier pick is skipped); intervals with no frame give no sample (so R above the video's
///   rate returns each frame once). `start = t0 + k/R`, `end = min(t0 + (k+1)/R, T)`.
/// - `uniform(N)`: with F frames (the container's frame count, else counted from the packets),
///   segment k is frames `[b(k), b(k+1))` with `b(k) = floor(k·F/N)`; its sample is the middle
///   frame `b(k) + (b(k+1) − b(k) − 1) / 2` (integer division); empty segments (N > F) are
///   skipped, so there are `min(N, F)` samples. `start = t(b(k))`, `end = t(b(k+1))` (the last: `T`).
///   Frames past F are not used; if the stream has fewer frames than declared, segments whose
///   middle frame is missing give no sample.
///
/// Only the chosen frames are converted to RGB; `uniform` stops decoding after frame F.
/// The textual forms are `every-frame`, `fps:R` and `uniform:N`; the default is `fps:1`.
public enum VideoSampling: Sendable, Equatable, CustomStringConvertible {
    /// Every decoded frame.
    case everyFrame
    /// At most one frame per interval of 1/R seconds (R frames per second), the first one in each interval.
    case fps(Double)
    /// N frames spread evenly over the video: the middle frame of each of N equal segments.
    case uniform(Int)

    /// One frame per second.
    public static let `default` = VideoSampling.fps(1)

    /// Parses `every-frame`, `fps:R` (R > 0, e.g. `fps:0.5`) or `uniform:N` (N ≥ 1).
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "every-frame" || t == "all" { self = .everyFrame; return }
        let parts = t.split(separator: ":", maxSplits: 1).map(String.init)
        if parts.count == 2, parts[0] == "fps", let r = Double(parts[1]), r > 0, r.isFinite {
            self = .fps(r); return
        }
        if parts.count == 2, parts[0] == "uniform", let n = Int(parts[1]), n >= 1 {
            self = .uniform(n); return
        }
        throw MediaError.invalidArgument("video sampling \"\(text)\" is not one of every-frame, fps:R (R > 0), uniform:N (N >= 1)")
    }

    /// The textual form ``init(parsing:)`` reads back: `every-frame`, `fps:R` (`fps:1`, `fps:0.5`) or `uniform:N`.
    public var description: String {
        switch self {
        case .everyFrame: return "every-frame"
        case let .fps(r): return "fps:\(r == r.rounded() ? String(Int(r)) : String(r))"
        case let .uniform(n): return "uniform:\(n)"
        }
    }

    func validate() throws {
        switch self {
        case .everyFrame: return
        case let .fps(r) where r > 0 && r.isFinite: return
        case let .uniform(n) where n >= 1: return
        default: throw MediaError.invalidArgument("invalid video sampling \(self): fps needs R > 0, uniform needs N >= 1")
        }
    }
}

extension VideoDecoder {
    /// Decodes the rest of the stream and calls `body` with each sampled frame, in decode order.
    /// Returns the number of frames decoded. Call on a fresh decoder.
    @discardableResult
    public func frames(_ sampling: VideoSampling = .default, _ body: (VideoFrame) throws -> Void) throws -> Int {
        try sampling.validate()
        var pending: VideoFrame?
        func emit(end: Double) throws {
            if var p = pending { p.end = end; pending = nil; try body(p) }
        }
        var videoEnd = 0.0
        switch sampling {
        case .everyFrame:
            while let f = try nextFrame() {
                try emit(end: f.time)
                pending = VideoFrame(index: f.index, time: f.time, start: f.time, end: f.time, image: try currentImage())
                videoEnd = f.time + f.duration
            }
            try emit(end: videoEnd)

        case let .fps(rate):
            var lastK = Int.min
            var pendingK = 0
            var t0 = 0.0
            while let f = try nextFrame() {
                if f.index == 0 { t0 = f.time }
                videoEnd = max(videoEnd, f.time + f.duration)
                let k = Int(((f.time - t0) * rate + 1e-9).rounded(.down))
                guard k > lastK else { continue }
                try emit(end: t0 + Double(pendingK + 1) / rate)
                lastK = k
                pendingK = k
                pending = VideoFrame(index: f.index, time: f.time, start: t0 + Double(k) / rate, end: 0, image: try currentImage())
            }
            try emit(end: min(t0 + Double(pendingK + 1) / rate, videoEnd))

        case let .uniform(n):
            let count = try info.declaredFrameCount ?? VideoDecoder.countFrames(contentsOf: url)
            guard count > 0 else { return decodedFrames }
            let bound = { (k: Int) in k * count / n }
            var k = 0  // the segment frame i belongs to
            var segmentStart = 0.0
            while let f = try nextFrame() {
                videoEnd = f.time + f.duration
                if f.index >= count { try emit(end: f.time); break }
                while bound(k + 1) <= f.index { k += 1 }  // skips empty segments
                if f.index == bound(k) {
                    try emit(end: f.time)
                    segmentStart = f.time
                }
                let middle = bound(k) + (bound(k + 1) - bound(k) - 1) / 2
                if f.index == middle {
                    pending = VideoFrame(index: f.index, time: f.time, start: segmentStart, end: 0, image: try currentImage())
                }
            }
            try emit(end: videoEnd)
        }
        return decodedFrames
    }

    /// Decodes `url` and returns its sampled frames (see `VideoSampling`).
    public static func sample(contentsOf url: URL, sampling: VideoSampling = .default,
                              options: VideoDecodeOptions = VideoDecodeOptions()) throws -> [VideoFrame] {
        let decoder = try VideoDecoder(contentsOf: url, options: options)
        var out: [VideoFrame] = []
        try decoder.frames(sampling) { out.append($0) }
        return out
    }
}
