import Foundation
import QuiverMedia
import QuiverStore

/// One input of `quiver embed`: a text, or a file whose kind was detected from its content.
public enum EmbedInput: Sendable, Equatable {
    case text(String)
    /// A file and its detected kind (a text file's contents are embedded as one text).
    case file(URL, ContentModality)

    /// The kind of content.
    public var modality: ContentModality {
        switch self { case .text: return .text; case let .file(_, m): return m }
    }

    /// Classifies command-line arguments: an argument naming an existing regular file is a file
    /// (kind from its first bytes, `ContentModality.detect`), anything else is a text;
    /// `forceText` makes every argument a text.
    /// - Throws: `QuiverError.unreadableInput` for a file of no kind Quiver embeds.
    public static func classify(_ arguments: [String], forceText: Bool = false) throws -> [EmbedInput] {
        try arguments.map { arg in
            if forceText { return .text(arg) }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: arg, isDirectory: &isDir), !isDir.boolValue else { return .text(arg) }
            let url = URL(fileURLWithPath: arg)
            guard let kind = try ContentModality.detect(fileAt: url) else {
                throw QuiverError.unreadableInput(path: arg, reason: "not text, image, audio or video (use --text to embed the argument itself as a text)")
            }
            return .file(url, kind)
        }
    }
}

/// One output row of `quiver embed`: the vector and what it stands for.
public struct EmbeddedItem: Sendable, Equatable {
    /// Position of the input among the arguments (0-based).
    public var input: Int
    /// The file, for file inputs.
    public var path: String?
    /// The text, for text arguments.
    public var text: String?
    /// The kind of the input.
    public var modality: ContentModality
    /// What part of the input this row is: nil for a whole text/image/audio file; "window"
    /// (a 30 s audio window), "frame" (a sampled video frame), "audio" (a video's sound track),
    /// "video" (a whole video: mean of its frame vectors).
    public var segment: String?
    /// For frames: index of the frame in the decoded stream.
    public var frameIndex: Int?
    /// Start of the time span in seconds, for audio, windows, frames and videos (nil for texts
    /// and images).
    public var start: Double?
    /// End of the time span in seconds (exclusive), nil for texts and images.
    public var end: Double?
    /// The model's vector.
    public var vector: [Float]
    /// The model that made `vector` when it is not the embedder's own (a video's sound track:
    /// the audio model; its vectors live in that model's space and width).
    public var model: String?
}

/// Embeds a mix of texts and files with one model, routing each to the model's matching tower:
/// text models embed texts; image models embed images and video frames; CLIP embeds texts
/// (text tower), images and video frames; Whisper models embed audio. A video's sound track is
/// embedded with `audioModel` when it is installed.
public final class FileEmbedder: Sendable {
    /// Audio window of the Whisper encoder, in seconds.
    public static let audioWindowSeconds = 30.0

    /// The model's catalog name (or the absolute folder path it was loaded from).
    public let modelName: String
    /// What the model embeds.
    public let modality: Modality
    /// Which video frames are embedded (default: one per second).
    public let sampling: VideoSampling
    private let text: TextEmbedder?
    private let clip: CLIPEmbedder?
    private let image: ImageEmbedder?
    private let audio: AudioEmbedder?
    private let videoAudio: AudioEmbedder?
    private let videoAudioProblem: String?
    private let perceiver: PerceiverVideoEmbedder?

    /// Width of the vectors (a video's sound-track rows have the audio model's width instead).
    public var dimension: Int { text?.dimension ?? image?.dimension ?? audio?.dimension ?? clip?.dimension ?? perceiver?.dimension ?? 0 }

    /// Loads `model` (catalog name, hub id or folder) and, for videos, `audioModel` when it is
    /// installed (nil: no sound-track rows).
    public init(model: String, audioModel: String? = "faster-whisper-base", sampling: VideoSampling = .default,
                home: ModelHome = .fromEnvironment()) throws {
        let resolved = try home.installedModel(model)
        modelName = resolved.entry.name
        modality = resolved.entry.modality
        self.sampling = sampling
        perceiver = modality == .video ? try PerceiverVideoEmbedder(model: model, home: home) : nil
        switch modality {
        case .text:
            text = try TextEmbedder(folder: resolved.folder, name: resolved.entry.name); clip = nil; image = nil; audio = nil
        case .image:
            image = try ImageEmbedder(model: model, home: home); text = nil; clip = nil; audio = nil
        case .imageText:
            image = try ImageEmbedder(model: model, home: home); clip = try CLIPEmbedder(model: model, home: home); text = nil; audio = nil
        case .audio:
            audio = try AudioEmbedder(model: model, home: home); text = nil; clip = nil; image = nil
        case .textPair:
            throw QuiverError.unsupportedModality(model: resolved.entry.name, modality: "files",
                                                  supported: ["text pairs (a cross-encoder: use it with --rerank)"])
        case .video:
            text = nil; clip = nil; image = nil; audio = nil
        }
        var va: AudioEmbedder?, problem: String?
        if modality == .image || modality == .imageText, let audioModel {
            do { va = try AudioEmbedder(model: audioModel, home: home) } catch { problem = "\(error)" }
        }
        videoAudio = va
        videoAudioProblem = problem
    }

    /// As `init(model:audioModel:sampling:home:)`, with the frame sampling written as on the
    /// command line: `every-frame`, `fps:R` or `uniform:N`.
    /// - Throws: `MediaError.invalidArgument` for another sampling text.
    public convenience init(model: String, audioModel: String?, sampling: String, home: ModelHome = .fromEnvironment()) throws {
        try self.init(model: model, audioModel: audioModel, sampling: try VideoSampling(parsing: sampling), home: home)
    }

    /// The kinds of input the model embeds.
    public var supported: [ContentModality] {
        switch modality {
        case .text: return [.text]
        case .image: return [.image, .video]
        case .imageText: return [.text, .image, .video]
        case .audio: return [.audio]
        case .textPair: return []
        case .video: return [.video]
        }
    }

    /// Checks that every input is of a kind the model embeds, before any work is done.
    /// - Throws: `QuiverError.unsupportedModality` naming the model and the first unsupported kind.
    public func check(_ inputs: [EmbedInput]) throws {
        for input in inputs where !supported.contains(input.modality) {
            var what = input.modality.rawValue
            if case let .file(url, _) = input { what += " (\(url.path))" }
            throw QuiverError.unsupportedModality(model: modelName, modality: what, supported: supported.map(\.rawValue))
        }
    }

    /// Embeds the inputs in order; `note` receives remarks (e.g. a video's sound track skipped).
    /// - Throws: `QuiverError.unsupportedModality` for an input the model cannot embed (checked
    ///   first), `MediaError` naming a file that cannot be decoded.
    public func embed(_ inputs: [EmbedInput], threads: Int? = nil, note: (String) -> Void = { _ in }) throws -> [EmbeddedItem] {
        try check(inputs)
        var out: [EmbeddedItem] = []
        for (n, input) in inputs.enumerated() {
            switch input {
            case let .text(t):
                out.append(EmbeddedItem(input: n, text: t, modality: .text, vector: try embedText(t, threads: threads)))
            case let .file(url, .text):
                let t: String
                do { t = try String(contentsOf: url, encoding: .utf8) } catch {
                    throw QuiverError.unreadableInput(path: url.path, reason: "not readable as UTF-8 text")
                }
                out.append(EmbeddedItem(input: n, path: url.path, modality: .text, vector: try embedText(t, threads: threads)))
            case let .file(url, .image):
                let v = try image!.embed(files: [url], threads: threads)[0]
                out.append(EmbeddedItem(input: n, path: url.path, modality: .image, vector: v))
            case let .file(url, .audio):
                out += try embedAudio(url, input: n, threads: threads)
            case let .file(url, .video):
                if let perceiver {
                    out += try embedClips(url, perceiver, input: n, threads: threads)
                } else {
                    out += try embedVideo(url, input: n, threads: threads, note: note)
                }
            }
        }
        return out
    }

    private func embedText(_ t: String, threads: Int?) throws -> [Float] {
        if let text { return try text.embed([t], threads: threads).vectors[0] }
        return try clip!.embed(texts: [t], threads: threads)[0]
    }

    /// The whole recording, then (over 30 s) one row per 30 s window.
    private func embedAudio(_ url: URL, input n: Int, threads: Int?) throws -> [EmbeddedItem] {
        let samples = try AudioDecoder.decode(contentsOf: url).samples
        let rate = 16_000.0
        let seconds = Double(samples.count) / rate
        var rows = [EmbeddedItem(input: n, path: url.path, modality: .audio, segment: nil, start: 0, end: seconds,
                                 vector: try audio!.embed(samples: samples, threads: threads))]
        let window = Int(Self.audioWindowSeconds * rate)
        if samples.count > window {
            for s in stride(from: 0, to: samples.count, by: window) {
                let e = min(samples.count, s + window)
                rows.append(EmbeddedItem(input: n, path: url.path, modality: .audio, segment: "window",
                                         start: Double(s) / rate, end: Double(e) / rate,
                                         vector: try audio!.embed(samples: Array(samples[s..<e]), threads: threads)))
            }
        }
        return rows
    }

    /// Perceiver clips (frames and sound together, `segment` "clip"), then the whole video
    /// (`segment` "video": the mean of the clips).
    private func embedClips(_ url: URL, _ p: PerceiverVideoEmbedder, input n: Int, threads: Int?) throws -> [EmbeddedItem] {
        let (clips, whole) = try p.embed(contentsOf: url, threads: threads)
        var rows = clips.map {
            EmbeddedItem(input: n, path: url.path, modality: .video, segment: "clip", frameIndex: nil, start: $0.start, end: $0.end, vector: $0.vector)
        }
        if let whole, let first = clips.first, let last = clips.last {
            rows.append(EmbeddedItem(input: n, path: url.path, modality: .video, segment: "video", start: first.start, end: last.end, vector: whole))
        }
        return rows
    }

    /// Sampled frames, the sound track (when there is one and an audio model), the whole video.
    private func embedVideo(_ url: URL, input n: Int, threads: Int?, note: (String) -> Void) throws -> [EmbeddedItem] {
        let frames = try VideoEmbedder(images: image!, sampling: sampling).embedFrames(contentsOf: url, threads: threads)
        var rows = frames.map {
            EmbeddedItem(input: n, path: url.path, modality: .video, segment: "frame", frameIndex: $0.frameIndex,
                         start: $0.start, end: $0.end, vector: $0.vector)
        }
        if let videoAudio {
            do {
                let (v, seconds) = try videoAudio.embed(file: url, threads: threads)
                rows.append(EmbeddedItem(input: n, path: url.path, modality: .video, segment: "audio", start: 0, end: seconds,
                                         vector: v, model: videoAudio.modelName))
            } catch MediaError.missingStream(_, _) {
                // A silent video: no sound-track row.
            }
        } else if let videoAudioProblem {
            note("\(url.path): sound track not embedded: \(videoAudioProblem)")
        }
        if let mean = VideoEmbedder.mean(frames) {
            rows.append(EmbeddedItem(input: n, path: url.path, modality: .video, segment: "video",
                                     start: frames.first!.start, end: frames.last!.end, vector: mean))
        } else {
            note("\(url.path): no frames were sampled")
        }
        return rows
    }
}

extension EmbeddedItem {
    /// The row as one JSON line: `{"index": input, "path"?, "segment"?, "frame_index"?, "start"?,
    /// "end"?, "embedding": [...]}` (a text argument gives `{"index", "embedding"}` as before);
    /// floats print round-trip exact, non-finite values as null.
    public func jsonLine() -> String {
        var s = "{\"index\": \(input)"
        if let path { s += ", \"path\": " + JSONValue.quoted(path) }
        if let segment { s += ", \"segment\": \"\(segment)\"" }
        if let frameIndex { s += ", \"frame_index\": \(frameIndex)" }
        if let start { s += ", \"start\": \(Self.seconds(start))" }
        if let end { s += ", \"end\": \(Self.seconds(end))" }
        if let model { s += ", \"model\": " + JSONValue.quoted(model) }
        s += ", \"embedding\": ["
        s.reserveCapacity(s.utf8.count + vector.count * 12)
        for (i, x) in vector.enumerated() {
            if i > 0 { s += ", " }
            s += x.isFinite ? "\(x)" : "null"
        }
        return s + "]}\n"
    }

    /// A short label for tables: the text, or the file name with the segment and time span.
    public var label: String {
        if let text { return text }
        var l = path.map { URL(fileURLWithPath: $0).lastPathComponent } ?? ""
        if let segment { l += " \(segment)" }
        if let frameIndex { l += " #\(frameIndex)" }
        if let start, let end { l += " " + Self.seconds(start) + "–" + Self.seconds(end) + "s" }
        return l
    }

    /// Seconds rounded to the microsecond, printed without trailing zeros.
    static func seconds(_ t: Double) -> String {
        let r = (t * 1_000_000).rounded() / 1_000_000
        return r == r.rounded() ? String(Int(r)) : "\(r)"
    }
}
