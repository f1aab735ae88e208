import Foundation
import QuiverTensor
import QuiverWeights

/// A residual block of a convolutional network: `convolutions` run in sequence; with `residual`
/// the block's input (or `shortcut(input)`) is added to the last convolution's output before that
/// convolution's activation: `act(shortcut(x) + conv_n(... conv_1(x)) + bias_n)`.
struct ConvBlock: Sendable {
    let convolutions: [Conv2D]
    let shortcut: Conv2D?
    let residual: Bool
}

/// PyTorch `MaxPool2d(kernel, stride, padding)`.
struct MaxPool: Sendable {
    let kernel: Int, stride: Int, padding: Int
}

/// The convolutional trunk shared by ResNet and EfficientNet: stem convolutions, an optional max
/// pool, residual blocks, head convolutions, then a global average pool to one feature vector.
/// Works on NHWC activations held in a per-thread `Workspace`.
struct ConvNetwork: Sendable {
    let stem: [Conv2D]
    let stemPool: MaxPool?
    let blocks: [ConvBlock]
    let head: [Conv2D]
    /// Channels of the pooled feature vector.
    let featureCount: Int
    let inputChannels: Int

    /// Largest activation (floats) and largest im2col scratch for an input of `height` x `width`.
    func plan(height: Int, width: Int) -> (activation: Int, scratch: Int) {
        var h = height, w = width, act = height * width * inputChannels, scratch = 0
        func visit(_ c: Conv2D) {
            scratch = max(scratch, c.scratchCount(height: h, width: w))
            let g = c.geometry(height: h, width: w)
            h = g.outHeight; w = g.outWidth
            act = max(act, h * w * c.outChannels)
        }
        stem.forEach(visit)
        if let p = stemPool {
            h = pooledSize(h, kernel: p.kernel, stride: p.stride, padding: p.padding)
            w = pooledSize(w, kernel: p.kernel, stride: p.stride, padding: p.padding)
        }
        for b in blocks {
            let (h0, w0) = (h, w)
            if let s = b.shortcut { visit(s); h = h0; w = w0 }
            b.convolutions.forEach(visit)
        }
        head.forEach(visit)
        return (act, scratch)
    }

    /// Output spatial size for an input of `height` x `width` (positive for a usable input).
    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        var h = height, w = width
        for c in stem { let g = c.geometry(height: h, width: w); h = g.outHeight; w = g.outWidth }
        if let p = stemPool {
            h = pooledSize(h, kernel: p.kernel, stride: p.stride, padding: p.padding)
            w = pooledSize(w, kernel: p.kernel, stride: p.stride, padding: p.padding)
        }
        for b in blocks { for c in b.convolutions { let g = c.geometry(height: h, width: w); h = g.outHeight; w = g.outWidth } }
        for c in head { let g = c.geometry(height: h, width: w); h = g.outHeight; w = g.outWidth }
        return (h, w)
    }

    /// Runs the network on one CHW image (`[inputChannels, height, width]`, as `ImageTensor` holds
    /// it) and writes the `featureCount` pooled features to `features`.
    func forward(chw: UnsafePointer<Float>, height: Int, width: Int, features: UnsafeMutablePointer<Float>,
                 workspace ws: Workspace, threads: Int) {
        let (actCount, scratchCount) = plan(height: height, width: width)
        // Four activation buffers: the current input, the block output and two intermediates.
        let buffers = (0..<4).map { ws.buffer(ImageSlot.activation + $0, count: actCount) }
        let scratch = ws.buffer(ImageSlot.scratch, count: max(scratchCount, 1))
        var cur = 0, h = height, w = width, c = inputChannels
        // CHW -> NHWC.
        let plane = height * width
        let x0 = buffers[0]
        for p in 0..<plane { for ch in 0..<c { x0[p * c + ch] = chw[ch * plane + p] } }

        func free(_ taken: Int...) -> Int { (0..<4).first { !taken.contains($0) }! }
        func run(_ conv: Conv2D, from src: Int, to dst: Int, accumulate: Bool = false) {
            let o = conv.apply(buffers[src], height: h, width: w, into: buffers[dst], accumulate: accumulate,
                               scratch: scratch, threads: threads)
            h = o.height; w = o.width; c = conv.outChannels
        }
        for conv in stem { let d = free(cur); run(conv, from: cur, to: d); cur = d }
        if let p = stemPool {
            let d = free(cur)
            let oh = pooledSize(h, kernel: p.kernel, stride: p.stride, padding: p.padding)
            let ow = pooledSize(w, kernel: p.kernel, stride: p.stride, padding: p.padding)
            ConvKernels.maxPool2d(buffers[cur], height: h, width: w, channels: c, kernel: p.kernel, stride: p.stride,
                                  padding: p.padding, out: buffers[d], outHeight: oh, outWidth: ow)
            h = oh; w = ow; cur = d
        }
        for block in blocks {
            if !block.residual {
                for conv in block.convolutions { let d = free(cur); run(conv, from: cur, to: d); cur = d }
                continue
            }
            let (h0, w0, c0) = (h, w, c)
            let out = free(cur)
            if let s = block.shortcut {
                run(s, from: cur, to: out)
                h = h0; w = w0; c = c0
            } else {
                buffers[out].update(from: buffers[cur], count: h * w * c)
            }
            var src = cur
            for conv in block.convolutions.dropLast() {
                let d = free(src, out, cur)
                run(conv, from: src, to: d)
                src = d
            }
            run(block.convolutions.last!, from: src, to: out, accumulate: true)
            cur = out
        }
        for conv in head { let d = free(cur); run(conv, from: cur, to: d); cur = d }
        ConvKernels.globalAveragePool(buffers[cur], pixels: h * w, channels: c, out: features)
    }
}

/// Workspace slots of the image models (one `Workspace` per thread).
enum ImageSlot {
    static let activation = 0   // 0...3
    static let scratch = 4
    static let features = 5
    static let tokens = 6       // transformer slots follow
}

extension WeightScope {
    /// A BatchNorm from `weight`, `bias`, `running_mean`, `running_var` [channels] under this scope
    /// (`num_batches_tracked`, a training counter, is marked used if present).
    func batchNorm(channels: Int, eps: Float) throws -> BatchNorm {
        if has("num_batches_tracked") { loader.markUsed(prefix + "num_batches_tracked") }
        return BatchNorm(weight: try tensor("weight", shape: [channels]).array,
                         bias: try tensor("bias", shape: [channels]).array,
                         runningMean: try tensor("running_mean", shape: [channels]).array,
                         runningVar: try tensor("running_var", shape: [channels]).array, eps: eps)
    }

    /// The shape of `prefix + name` without taking it, or a missing-tensor error.
    func shape(of name: String) throws -> [Int] {
        guard let info = loader.source.info(prefix + name) else {
            throw WeightsError.missingTensor(path: loader.source.path, tensor: prefix + name,
                                             similar: WeightNames.similar(to: prefix + name, in: loader.source.names))
        }
        return info.shape
    }

    /// A convolution without bias from `weight` here, followed by the BatchNorm under `norm`
    /// (folded). Input channels and kernel size come from the weight's shape; when `inChannels`
    /// is given it must match.
    func convBN(weight name: String = "weight", norm: WeightScope, inChannels: Int? = nil, stride: Int,
                padding: (Int) -> Conv2D.Padding, eps: Float, activation: Activation, depthwise: Bool = false) throws -> Conv2D {
        let s = try shape(of: name)
        guard s.count == 4 else {
            throw WeightsError.shapeMismatch(path: loader.source.path, tensor: prefix + name, expected: [-1, -1, -1, -1], actual: s)
        }
        if let inChannels, !depthwise, s[1] != inChannels {
            throw WeightsError.shapeMismatch(path: loader.source.path, tensor: prefix + name,
                                             expected: [s[0], inChannels, s[2], s[3]], actual: s)
        }
        if depthwise, s[1] != 1 || (inChannels != nil && s[0] != inChannels!) {
            throw WeightsError.shapeMismatch(path: loader.source.path, tensor: prefix + name,
                                             expected: [inChannels ?? s[0], 1, s[2], s[3]], actual: s)
        }
        let w = try tensor(name, shape: s).tensor
        return Conv2D(weight: w, batchNorm: try norm.batchNorm(channels: s[0], eps: eps), stride: stride,
                      padding: padding(s[2]), groups: depthwise ? s[0] : 1, activation: activation)
    }
}
