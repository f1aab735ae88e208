import CQuiverImage
import Foundation

/// The container formats the decoder recognizes from their leading bytes: `jpeg` (`FF D8 FF`), `png`
/// (`89 50 4E 47 0D 0A 1A 0A`), `webp` (`RIFF....WEBP`) and `gif` (`GIF87a` / `GIF89a`; the first frame is decoded).
public enum ImageFormat: String, Sendable, Equatable, CaseIterable {
    case jpeg, png, webp, gif
}

/// Options of `ImageDecoder`.
public struct ImageDecodeOptions: Sendable, Equatable {
    /// Largest accepted `width * height`; larger images are refused with
    /// `MediaError.imageTooLarge` before any pixel memory is allocated. Default 100 megapixels.
    public var maxPixels: Int
    /// Rotate/flip by the EXIF orientation tag (JPEG APP1, PNG eXIf, WebP EXIF) as Pillow's
    /// `ImageOps.exif_transpose` does. Note that plain `Image.open(p).convert("RGB")` pipelines
    /// (torchvision, Hugging Face image processors) do not do this; turn it off to match them on
    /// rotated photos. Default true.
    public var applyEXIFOrientation: Bool

    /// Options with a pixel limit and EXIF handling.
    /// - Parameters:
    ///   - maxPixels: largest accepted `width * height` (default 100 000 000).
    ///   - applyEXIFOrientation: rotate/flip by the EXIF orientation tag (default true).
    public init(maxPixels: Int = 100_000_000, applyEXIFOrientation: Bool = true) {
        self.maxPixels = maxPixels
        self.applyEXIFOrientation = applyEXIFOrientation
    }
}

/// A decoded image and what the file said about it.
public struct DecodedImage: Sendable, Equatable {
    /// The pixels as Pillow's `convert("RGB")` gives them (alpha dropped without compositing,
    /// palette expanded, CMYK converted), after the EXIF orientation when it was applied.
    public var image: RGBImage
    /// The container format, detected from the content.
    public var format: ImageFormat
    /// The Pillow mode the file opens as: "RGB", "RGBA", "L", "LA", "P", "1", "I;16" or "CMYK".
    public var sourceMode: String
    /// Bits per sample in the file (1, 2, 4, 8 or 16).
    public var bitDepth: Int
    /// True when the file has an alpha channel or a transparent colour (dropped in `image`).
    public var hadAlpha: Bool
    /// The EXIF orientation tag (1...8), or 1 when the file has none.
    public var exifOrientation: Int
}

/// Decodes JPEG, PNG, WebP and GIF files into `RGBImage`s, byte-identical to Pillow's
/// `Image.open(path).convert("RGB")` (optionally followed by `ImageOps.exif_transpose`).
/// The format comes from the content, never from the file extension. Corrupt or truncated data
/// is reported as `MediaError.corruptImage` naming the file; it never crashes the process.
///
/// Stateless; decoding may run on several threads at once.
///
/// ```swift
/// let decoded = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: "photo.jpg"))
/// let image: RGBImage = decoded.image           // EXIF orientation applied
/// print(decoded.format, image.width, image.height, decoded.hadAlpha)
/// let preprocess = ImagePreprocessor.clip
/// let input = try preprocess(image)              // ImageTensor [3, 224, 224], CLIP-normalized
/// ```
public enum ImageDecoder {
    /// The format whose signature starts `bytes`, or nil.
    public static func detectFormat<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        let head = Array(bytes.prefix(12))
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        if head.count >= 8, head[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.count >= 6, head[0..<6].elementsEqual(Array("GIF87a".utf8)) || head[0..<6].elementsEqual(Array("GIF89a".utf8)) {
            return .gif
        }
        if head.count >= 12, head[0..<4].elementsEqual(Array("RIFF".utf8)), head[8..<12].elementsEqual(Array("WEBP".utf8)) {
            return .webp
        }
        return nil
    }

    /// Reads and decodes the image file at `url`.
    public static func decode(contentsOf url: URL, options: ImageDecodeOptions = ImageDecodeOptions()) throws -> DecodedImage {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw MediaError.unreadableFile(path: url.path, reason: (error as NSError).localizedDescription)
        }
        return try decode(data: data, name: url.path, options: options)
    }

    /// Decodes an image held in memory; `name` is used in error messages.
    public static func decode(data: Data, name: String = "<memory>", options: ImageDecodeOptions = ImageDecodeOptions()) throws -> DecodedImage {
        guard let format = detectFormat(data) else {
            let hex = data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw MediaError.unknownImageFormat(path: name, leadingBytes: hex.isEmpty ? "empty file" : hex)
        }
        var result = qim_image()
        let status: Int32 = data.withUnsafeBytes { raw -> Int32 in
            let base = raw.bindMemory(to: UInt8.self).baseAddress!
            let limit = Int64(options.maxPixels)
            switch format {
            case .jpeg: return qim_decode_jpeg(base, raw.count, limit, &result)
            case .png: return qim_decode_png(base, raw.count, limit, &result)
            case .webp: return qim_decode_webp(base, raw.count, limit, &result)
            case .gif: return qim_decode_gif(base, raw.count, limit, &result)
            }
        }
        defer { qim_image_free(&result) }
        let message = withUnsafeBytes(of: result.error) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        switch Int(status) {
        case Int(QIM_OK): break
        case Int(QIM_ERR_TOO_LARGE):
            throw MediaError.imageTooLarge(path: name, width: Int(result.width), height: Int(result.height), limit: options.maxPixels)
        case Int(QIM_ERR_UNSUPPORTED):
            throw MediaError.unsupportedImage(path: name, format: format, reason: message)
        default:
            throw MediaError.corruptImage(path: name, format: format, reason: message.isEmpty ? "decoder failed" : message)
        }
        let width = Int(result.width), height = Int(result.height)
        let count = width * height * 3
        let pixels = [UInt8](UnsafeBufferPointer(start: result.pixels, count: count))
        let mode = withUnsafeBytes(of: result.mode) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let orientation = data.withUnsafeBytes { raw in
            EXIFOrientation.read(from: raw.bindMemory(to: UInt8.self), format: format)
        }
        var image = RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
        if options.applyEXIFOrientation { image = image.applyingOrientation(orientation) }
        return DecodedImage(image: image, format: format, sourceMode: mode, bitDepth: Int(result.bit_depth),
                            hadAlpha: result.has_alpha != 0, exifOrientation: orientation)
    }
}
