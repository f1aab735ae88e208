import Foundation
import QuiverMedia
import QuiverTensor

/// A model that turns an image into one embedding vector, as a pure forward pass, together with
/// the preprocessing it was trained with (decoding and preprocessing live in QuiverMedia).
///
/// Conformers: `ResNet` (pooled penultimate features), `EfficientNetLite` (pooled 1280-d head
/// features) and `CLIPModel` (projected image embedding, in the space of its text embeddings).
public protocol ImageEmbeddingModel: Sendable {
    /// A short description of the architecture ("resnet-50 (torchvision)", "clip-vit-b/32"...).
    var name: String { get }
    /// Length of each embedding.
    var dimension: Int { get }
    /// The preprocessing that makes a model input (`[3, H, W]` float32) from a decoded image.
    var preprocessor: ImagePreprocessor { get }

    /// Checks that a preprocessed image is a valid input (channels, size).
    /// - Throws: `ModelsError.invalidImage` naming the image's position and the expected size.
    func validate(_ image: ImageTensor, index: Int) throws

    /// Embeds one validated image on the calling thread (convolutions split over `threads`).
    /// - Parameters:
    ///   - image: a preprocessed `[channels, height, width]` input that passed ``validate(_:index:)``.
    ///   - out: receives `dimension` floats (unnormalized).
    ///   - workspace: scratch memory for this call; not shared with a concurrent call.
    ///   - threads: threads the layers are split over.
    func forward(_ image: ImageTensor, into out: UnsafeMutablePointer<Float>, workspace: Workspace, threads: Int)

    /// Embeds several validated images on the calling thread, `images[i]` into `outs[i]`. The
    /// default runs them one by one; transformers batch their tokens.
    func forward(_ images: [ImageTensor], into outs: [UnsafeMutablePointer<Float>], workspace: Workspace, threads: Int)
}

extension ImageEmbeddingModel {
    /// Runs ``forward(_:into:workspace:threads:)`` on each image in turn, `images[i]` into `outs[i]`.
    public func forward(_ images: [ImageTensor], into outs: [UnsafeMutablePointer<Float>], workspace: Workspace, threads: Int) {
        for (image, out) in zip(images, outs) { forward(image, into: out, workspace: workspace, threads: threads) }
    }
}

extension ImageEmbeddingModel {
    /// Embeds preprocessed images (`[3, H, W]` each) with all `threads`: each worker takes a
    /// contiguous share of the images; with fewer images than threads, layers are split across threads.
    /// - Returns: one `dimension`-float vector per image, in input order, unnormalized.
    /// - Throws: `ModelsError.invalidImage` for an input of the wrong shape.
    public func embed(_ images: [ImageTensor], threads: Int = Parallel.defaultThreads) throws -> [[Float]] {
        for (i, image) in images.enumerated() { try validate(image, index: i) }
        let n = images.count, d = dimension
        guard n > 0 else { return [] }
        BLAS.setThreads(1)
        var flat = [Float](repeating: 0, count: n * d)
        let workers = max(1, min(threads, n))
        let inner = max(1, threads / workers)
        // Contiguous shares, so a model that batches (CLIP) sees several images per call.
        let shares = Parallel.split(n, parts: workers)
        flat.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            Parallel.forEach(shares.count, threads: shares.count) { w in
                let share = shares[w]
                self.forward(Array(images[share]), into: share.map { base + $0 * d }, workspace: Workspace(), threads: inner)
            }
        }
        return (0..<n).map { Array(flat[($0 * d)..<(($0 + 1) * d)]) }
    }

    /// Preprocesses decoded images with `preprocessor` (in parallel) and embeds them.
    /// - Throws: `MediaError` from preprocessing, `ModelsError` for an unusable input.
    public func embed(images: [RGBImage], threads: Int = Parallel.defaultThreads) throws -> [[Float]] {
        try embed(try preprocess(images, threads: threads), threads: threads)
    }

    /// Decodes image files (JPEG, PNG, WebP, GIF; EXIF orientation applied), preprocesses and embeds them.
    /// - Throws: `MediaError` naming an unreadable file, `ModelsError` for an unusable input.
    public func embed(contentsOf urls: [URL], threads: Int = Parallel.defaultThreads) throws -> [[Float]] {
        let decoded = try urls.map { try ImageDecoder.decode(contentsOf: $0).image }
        return try embed(images: decoded, threads: threads)
    }

    /// `preprocessor` applied to each image, split across threads.
    public func preprocess(_ images: [RGBImage], threads: Int = Parallel.defaultThreads) throws -> [ImageTensor] {
        let box = ResultBox<ImageTensor>(count: images.count)
        let pre = preprocessor
        Parallel.forEach(images.count, threads: threads) { i in
            do { box.set(i, .success(try pre(images[i]))) } catch { box.set(i, .failure(error)) }
        }
        return try box.values()
    }
}

/// Results written by parallel workers, read back in order (the first failure is rethrown).
final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<T, Error>?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<T, Error>) { lock.lock(); results[i] = r; lock.unlock() }
    func values() throws -> [T] { try results.map { try $0!.get() } }
}
