import Foundation

/// Errors of QuiverMedia. Each case names the file (or `<memory>` for in-memory data) and says
/// what is wrong, so a user can act on it.
public enum MediaError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read from disk.
    case unreadableFile(path: String, reason: String)
    /// The leading bytes match no supported image format (JPEG, PNG, WebP, GIF).
    case unknownImageFormat(path: String, leadingBytes: String)
    /// The codec rejected the data: corrupt, truncated or not what its header claims.
    case corruptImage(path: String, format: ImageFormat, reason: String)
    /// A valid image of a kind that is not handled (for example 12-bit JPEG, animated WebP).
    case unsupportedImage(path: String, format: ImageFormat, reason: String)
    /// Decoding would exceed the pixel limit of `ImageDecodeOptions.maxPixels`.
    case imageTooLarge(path: String, width: Int, height: Int, limit: Int)
    /// A `preprocessor_config.json` field is missing, has the wrong type or an unsupported value.
    case invalidPreprocessorConfig(path: String, field: String, reason: String)
    /// An argument outside its domain (for example a zero resize target).
    case invalidArgument(String)
    /// FFmpeg cannot open the file as audio or video: not a media file, unknown container,
    /// unreadable headers, or a codec this FFmpeg build has no decoder for.
    case unreadableMedia(path: String, reason: String)
    /// The file has no stream of the wanted kind (`kind` is "audio" or "video").
    case missingStream(path: String, kind: String)
    /// Decoding stopped on corrupt data after `decodedSeconds` of the `kind` stream.
    case corruptMedia(path: String, kind: String, decodedSeconds: Double, reason: String)
    /// The stream ended after `decodedSeconds` although its header declares `declaredSeconds`
    /// (a truncated file).
    case truncatedMedia(path: String, kind: String, declaredSeconds: Double, decodedSeconds: Double)

    /// A one-line message saying what is wrong, naming the file (or `<memory>`) when one is involved.
    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read \(path): \(reason)"
        case let .unknownImageFormat(path, bytes):
            return "\(path) is not a JPEG, PNG, WebP or GIF image (first bytes: \(bytes))"
        case let .corruptImage(path, format, reason):
            return "\(path): corrupt or truncated \(format.rawValue.uppercased()) data: \(reason)"
        case let .unsupportedImage(path, format, reason):
            return "\(path): unsupported \(format.rawValue.uppercased()) image: \(reason)"
        case let .imageTooLarge(path, width, height, limit):
            return "\(path): image is \(width)x\(height) = \(width * height) pixels, above the limit of \(limit) pixels (ImageDecodeOptions.maxPixels)"
        case let .invalidPreprocessorConfig(path, field, reason):
            return "\(path): field \"\(field)\": \(reason)"
        case let .invalidArgument(message):
            return message
        case let .unreadableMedia(path, reason):
            return "\(path): cannot decode as audio or video: \(reason)"
        case let .missingStream(path, kind):
            return "\(path) has no \(kind) stream"
        case let .corruptMedia(path, kind, seconds, reason):
            return "\(path): corrupt \(kind) data after \(String(format: "%.3f", seconds)) s: \(reason)"
        case let .truncatedMedia(path, kind, declared, decoded):
            return "\(path): truncated file: the \(kind) stream ends after \(String(format: "%.3f", decoded)) s but its header declares \(String(format: "%.3f", declared)) s"
        }
    }
}

extension MediaError: LocalizedError {
    /// The same text as ``description``, so `localizedDescription` shows it too.
    public var errorDescription: String? { description }
}
