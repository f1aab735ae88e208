import Foundation

/// An 8-bit RGB image: `height` rows of `width` pixels, each pixel 3 bytes R, G, B
/// (row-major HWC, no padding between rows). This is what every decoder produces and what the
/// preprocessors read; video frames decoded elsewhere can be wrapped with
/// `init(width:height:copying:rowStride:)`.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height * 3` bytes, row-major, RGB interleaved.
    public var pixels: [UInt8]

    /// Wraps interleaved RGB bytes. `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw MediaError.invalidArgument("RGBImage size must be positive, got \(width)x\(height)")
        }
        guard pixels.count == width * height * 3 else {
            throw MediaError.invalidArgument("RGBImage \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Copies an RGB24 buffer whose rows are `rowStride` bytes apart (for example an FFmpeg frame
    /// with `linesize[0]`). `rowStride` must be at least `width * 3`.
    public init(width: Int, height: Int, copying base: UnsafeRawPointer, rowStride: Int) throws {
        guard width > 0, height > 0, rowStride >= width * 3 else {
            throw MediaError.invalidArgument("RGBImage \(width)x\(height) cannot be copied with row stride \(rowStride)")
        }
        let rowBytes = width * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: rowBytes * height) { buffer, count in
            for y in 0..<height {
                memcpy(buffer.baseAddress! + y * rowBytes, base + y * rowStride, rowBytes)
            }
            count = rowBytes * height
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Internal initializer for buffers whose size is known to be right.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y` (both zero-based).
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// The `width`x`height` window whose top-left corner is source pixel (`left`, `top`); parts of
    /// the window outside the image are black (zero), as torchvision's and Hugging Face's center
    /// crops pad small images.
    public func cropped(left: Int, top: Int, width cw: Int, height ch: Int) -> RGBImage {
        precondition(cw > 0 && ch > 0, "crop size must be positive")
        var out = [UInt8](repeating: 0, count: cw * ch * 3)
        let x0 = max(left, 0), x1 = min(left + cw, width)
        let y0 = max(top, 0), y1 = min(top + ch, height)
        if x0 < x1 && y0 < y1 {
            let n = (x1 - x0) * 3
            pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in y0..<y1 {
                        memcpy(dst.baseAddress! + ((y - top) * cw + (x0 - left)) * 3,
                               src.baseAddress! + (y * width + x0) * 3, n)
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: cw, height: ch, pixels: out)
    }

    /// Applies an EXIF orientation (1...8) the way Pillow's `ImageOps.exif_transpose` does:
    /// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
    /// 8 rotate 90 counter-clockwise. Other values return the image unchanged.
    public func applyingOrientation(_ orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let W = width, H = height
        let swaps = orientation >= 5
        let ow = swaps ? H : W, oh = swaps ? W : H
        // For each output (x, y): the source column and row.
        let map: (Int, Int) -> (Int, Int)
        switch orientation {
        case 2: map = { x, y in (W - 1 - x, y) }
        case 3: map = { x, y in (W - 1 - x, H - 1 - y) }
        case 4: map = { x, y in (x, H - 1 - y) }
        case 5: map = { x, y in (y, x) }
        case 6: map = { x, y in (y, H - 1 - x) }
        case 7: map = { x, y in (W - 1 - y, H - 1 - x) }
        default: map = { x, y in (W - 1 - y, x) }
        }
        let out = [UInt8](unsafeUninitializedCapacity: ow * oh * 3) { dst, count in
            pixels.withUnsafeBufferPointer { src in
                for y in 0..<oh {
                    for x in 0..<ow {
                        let (sx, sy) = map(x, y)
                        let s = (sy * W + sx) * 3, d = (y * ow + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
            count = ow * oh * 3
        }
        return RGBImage(uncheckedWidth: ow, height: oh, pixels: out)
    }
}
