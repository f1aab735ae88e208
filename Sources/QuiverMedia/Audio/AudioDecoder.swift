import CQuiverAV
import Foundation

/// Options of `AudioDecoder` and `AudioReader`.
public struct AudioDecodeOptions: Sendable, Equatable {
    /// Output sample rate in Hz. Default 16 000 (Whisper).
    public var sampleRate: Int
    /// Drop packets the decoder rejects and accept streams that end before their declared
    /// duration, instead of throwing `MediaError.corruptMedia` / `.truncatedMedia`. Default false.
    public var tolerateDamage: Bool

    /// Options for decoding to `sampleRate` Hz mono.
    /// - Parameters:
    ///   - sampleRate: output rate in Hz (default 16 000, what Whisper expects).
    ///   - tolerateDamage: skip rejected packets and accept early ends instead of throwing (default false).
    public init(sampleRate: Int = 16_000, tolerateDamage: Bool = false) {
        self.sampleRate = sampleRate
        self.tolerateDamage = tolerateDamage
    }
}

/// What the file says about the audio stream that is decoded (the container's "best" audio
/// stream, as FFmpeg's `av_find_best_stream` picks it; for a video file, its audio track).
public struct AudioSourceInfo: Sendable, Equatable {
    /// FFmpeg's demuxer name, e.g. "wav", "ogg", "mp3", "mov,mp4,m4a,3gp,3g2,mj2".
    public var container: String
    /// Codec name, e.g. "pcm_s16le", "flac", "mp3", "aac", "opus", "vorbis".
    public var codec: String
    /// The FFmpeg decoder used, e.g. "mp3float".
    public var decoder: String
    /// Channel layout as FFmpeg describes it, e.g. "mono", "stereo", "2 channels".
    public var channelLayout: String
    /// Source sample rate in Hz.
    public var sampleRate: Int
    /// Source channel count.
    public var channels: Int
    /// Duration in seconds from the stream or container header, nil when unknown.
    public var duration: Double?
    /// True when FFmpeg estimated `duration` from the bit rate (no exact length in the header).
    public var durationIsEstimate: Bool
    /// Bits per second, nil when unknown.
    public var bitRate: Int?
    /// Index of the decoded stream in the container.
    public var streamIndex: Int
}

/// A whole decoded signal.
public struct DecodedAudio: Sendable, Equatable {
    /// Mono float32 samples at `sampleRate` (nominally in [-1, 1]; a downmix of loud stereo can
    /// exceed 1, see `AudioDecoder`).
    public var samples: [Float]
    /// Samples per second of `samples`.
    public var sampleRate: Int
    /// The source stream.
    public var source: AudioSourceInfo

    /// `samples.count / sampleRate`, in seconds.
    public var duration: Double { Double(samples.count) / Double(sampleRate) }
}

/// Decodes any audio FFmpeg reads (WAV, FLAC, MP3, Ogg Vorbis/Opus, M4A/AAC, the audio track of
/// a video, ...) to mono float32 at a chosen rate (16 kHz by default).
///
/// The conversion is exactly the Whisper reference loader's (faster-whisper's `decode_audio`
/// with `av.AudioResampler(format="flt", layout="mono", rate=R)`): every decoded frame goes
/// through one libswresample context with FFmpeg's default settings (filter length 32, phase
/// shift 10, linear interpolation, cutoff 0.97, no dither for float), which downmixes with
/// FFmpeg's default matrix (stereo → mono is (L + R) / √2, not normalized for float output, so
/// it can exceed 1) and resamples; the resampler's delayed samples are flushed at the end.
/// Channel layouts without an order (a WAV without a channel mask) are read as FFmpeg's default
/// layout for their channel count.
///
/// Errors name the file: `MediaError.unreadableMedia` (not a media file, unknown codec),
/// `.missingStream`, `.corruptMedia`, `.truncatedMedia` (the stream ends more than 2 % + 0.1 s
/// before the length its header declares; for WAV the `data` chunk size, which FFmpeg itself
/// clamps to the file size).
///
/// Stateless; files may be decoded on several threads at once. For long files use ``AudioReader``.
///
/// ```swift
/// let audio = try AudioDecoder.decode(contentsOf: URL(fileURLWithPath: "talk.m4a"))
/// audio.samples       // mono float32 PCM at 16 kHz
/// audio.duration      // seconds
/// audio.source.codec  // "aac"
/// ```
public enum AudioDecoder {
    /// Decodes the whole audio stream of `url`.
    public static func decode(contentsOf url: URL, options: AudioDecodeOptions = AudioDecodeOptions()) throws -> DecodedAudio {
        let reader = try AudioReader(contentsOf: url, options: options)
        var samples: [Float] = []
        if let d = reader.source.duration {
            // A header's duration is only a hint: reserve at most ~17 M samples (64 MB) up front.
            samples.reserveCapacity(min(Int(d * Double(options.sampleRate) * 1.01) + 4096, 1 << 24))
        }
        let chunk = 1 << 16
        var buffer = [Float](repeating: 0, count: chunk)
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { try reader.read(into: $0) }
            if n == 0 { break }
            samples.append(contentsOf: buffer[0..<n])
        }
        return DecodedAudio(samples: samples, sampleRate: options.sampleRate, source: reader.source)
    }

    /// Reads only the headers: what the audio stream of `url` is.
    public static func info(contentsOf url: URL) throws -> AudioSourceInfo {
        try AudioReader(contentsOf: url).source
    }
}

/// Streams the decoded mono signal in chunks (bounded memory for long files). Same conversion
/// as `AudioDecoder.decode`; concatenating the chunks gives exactly its samples.
/// Not thread-safe: use one reader from one task at a time.
public final class AudioReader {
    /// The file being read.
    public let url: URL
    /// The source stream.
    public let source: AudioSourceInfo
    /// Output samples per second.
    public let sampleRate: Int
    private let options: AudioDecodeOptions
    private var handle: OpaquePointer?
    private var finished = false
    private var samplesRead = 0

    /// Opens `url` and its audio stream.
    public init(contentsOf url: URL, options: AudioDecodeOptions = AudioDecodeOptions()) throws {
        guard options.sampleRate > 0 else {
            throw MediaError.invalidArgument("AudioDecodeOptions.sampleRate must be positive, got \(options.sampleRate)")
        }
        self.url = url
        self.options = options
        self.sampleRate = options.sampleRate
        var info = qav_audio_info()
        var err = [CChar](repeating: 0, count: 512)
        var h: OpaquePointer?
        let status = qav_audio_open(url.path, Int32(options.sampleRate), options.tolerateDamage ? 1 : 0, &h, &info, &err, err.count)
        if status < 0 {
            let reason = cText(err)
            if !FileManager.default.fileExists(atPath: url.path) {
                throw MediaError.unreadableFile(path: url.path, reason: "no such file")
            }
            if status == -2 { throw MediaError.missingStream(path: url.path, kind: "audio") }
            throw MediaError.unreadableMedia(path: url.path, reason: reason)
        }
        handle = h
        source = AudioSourceInfo(
            container: avText(info.container), codec: avText(info.codec), decoder: avText(info.decoder),
            channelLayout: avText(info.layout), sampleRate: Int(info.sample_rate), channels: Int(info.channels),
            duration: info.duration >= 0 ? info.duration : nil, durationIsEstimate: info.duration_estimated != 0,
            bitRate: info.bit_rate > 0 ? Int(info.bit_rate) : nil, streamIndex: Int(info.stream_index))
    }

    deinit { qav_audio_close(handle) }

    /// Seconds of source audio decoded so far.
    public var decodedSeconds: Double { qav_audio_decoded_seconds(handle) }
    /// Packets dropped because the decoder rejected them (only with `tolerateDamage`).
    public var skippedPackets: Int { qav_audio_skipped_packets(handle) }

    /// Fills `buffer` with the next samples; returns how many were written (fewer than
    /// `buffer.count` only at the end of the stream, 0 once it is exhausted).
    public func read(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        if finished || buffer.isEmpty { return 0 }
        var err = [CChar](repeating: 0, count: 512)
        let n = qav_audio_read(handle, buffer.baseAddress, buffer.count, &err, err.count)
        if n < 0 {
            throw MediaError.corruptMedia(path: url.path, kind: "audio", decodedSeconds: decodedSeconds, reason: cText(err))
        }
        samplesRead += n
        if n < buffer.count {
            finished = true
            try checkLength()
        }
        return n
    }

    /// The next `maxSamples` samples (fewer at the end; empty once the stream is exhausted).
    public func read(maxSamples: Int) throws -> [Float] {
        guard maxSamples > 0 else { throw MediaError.invalidArgument("read(maxSamples:) needs a positive count, got \(maxSamples)") }
        var out = [Float](repeating: 0, count: maxSamples)
        let n = try out.withUnsafeMutableBufferPointer { try read(into: $0) }
        out.removeSubrange(n...)
        return out
    }

    private func checkLength() throws {
        guard !options.tolerateDamage else { return }
        let header = source.container == "wav" ? WAVHeader.declaredSeconds(of: url) : nil
        guard let declared = header ?? (source.durationIsEstimate ? nil : source.duration) else { return }
        let decoded = decodedSeconds
        if decoded < declared * 0.98 - 0.1 {
            throw MediaError.truncatedMedia(path: url.path, kind: "audio", declaredSeconds: declared, decodedSeconds: decoded)
        }
    }
}

/// A `QAV_TEXT` C array field as a Swift string.
func avText<T>(_ field: T) -> String {
    withUnsafeBytes(of: field) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }
}

/// A NUL-terminated C message buffer as a Swift string.
func cText(_ buffer: [CChar]) -> String {
    let end = buffer.firstIndex(of: 0) ?? buffer.count
    return String(decoding: buffer[0..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
