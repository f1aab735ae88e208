import Foundation
import QuiverMedia
import QuiverTensor
import QuiverWeights

/// EfficientNet-Lite (Lite0...Lite4) from the PyTorch port's state dict (names `_conv_stem`,
/// `_bn0`, `_blocks.N._expand_conv/_bn0/_depthwise_conv/_bn1/_project_conv/_bn2`, `_conv_head`,
/// `_bn1`, `_fc`) as a feature extractor: the globally average-pooled 1280-channel head output
/// (before dropout and the classifier); `logits` also runs the ImageNet classifier.
///
/// The Lite variants: ReLU6 everywhere, no squeeze-and-excitation, TensorFlow 'SAME' padding,
/// BatchNorm eps 1e-3 (folded into the convolutions at load). Block strides follow the
/// EfficientNet stage table (1, 2, 2, 2, 1, 2, 1); a new stage starts where a block's channel
/// count changes. Kernel sizes, widths and expansion come from the tensor shapes.
public struct EfficientNetLite: ImageEmbeddingModel {
    /// The variant, e.g. `efficientnet-lite0` (taken from the checkpoint file name), else `efficientnet-lite`.
    public let name: String
    /// Turns a decoded image into the `[3, 224, 224]` input (`ImagePreprocessor.efficientNetLite0` unless overridden).
    public let preprocessor: ImagePreprocessor
    let network: ConvNetwork
    /// The ImageNet classifier (`_fc`): `[classes, 1280]`, or nil if the checkpoint has none.
    public let classifier: Linear?

    /// Length of the embedding: the head convolution's channels (1280 for every Lite variant).
    public var dimension: Int { network.featureCount }
    /// Number of MBConv blocks.
    public var blockCount: Int { network.blocks.count }

    /// Stride of each stage of the EfficientNet family.
    static let stageStrides = [1, 2, 2, 2, 1, 2, 1]

    /// Binds a state dict.
    /// - Parameters:
    ///   - source: the checkpoint (any `WeightSource`, e.g. from `WeightFiles.open(path:)`).
    ///   - preprocessor: defaults to the TF-Lite recipe (`ImagePreprocessor.efficientNetLite0`).
    ///   - name: the ``name`` reported for the model.
    /// - Throws: `WeightsError` naming a missing, misshapen or unused tensor; `ModelsError` when
    ///   the blocks do not form the EfficientNet stage structure.
    public init(weights source: WeightSource, preprocessor: ImagePreprocessor? = nil, name: String = "efficientnet-lite") throws {
        let loader = WeightLoader(source)
        let root = loader.root
        let eps: Float = 1e-3
        let same: (Int) -> Conv2D.Padding = { _ in .same }
        let stem = try root.scope("_conv_stem").convBN(norm: root.scope("_bn0"), inChannels: 3, stride: 2, padding: same, eps: eps, activation: .relu6)
        var blocks: [ConvBlock] = []
        var inChannels = stem.outChannels
        var stage = -1
        var n = 0
        while loader.has("_blocks.\(n)._depthwise_conv.weight") {
            let b = root.scope("_blocks").scope(n)
            var convs: [Conv2D] = []
            var width = inChannels
            if b.has("_expand_conv.weight") {
                let e = try b.scope("_expand_conv").convBN(norm: b.scope("_bn0"), inChannels: inChannels, stride: 1, padding: same, eps: eps, activation: .relu6)
                convs.append(e)
                width = e.outChannels
            }
            let projectShape = try b.scope("_project_conv").shape(of: "weight")
            let out = projectShape.first ?? 0
            if out != inChannels || n == 0 { stage += 1 }
            guard stage < Self.stageStrides.count else {
                throw ModelsError.unsupported(path: source.path, feature: "more than \(Self.stageStrides.count) stages of blocks (block \(n) starts stage \(stage + 1))")
            }
            let stride = (out != inChannels || n == 0) ? Self.stageStrides[stage] : 1
            convs.append(try b.scope("_depthwise_conv").convBN(norm: b.scope("_bn1"), inChannels: width, stride: stride, padding: same,
                                                               eps: eps, activation: .relu6, depthwise: true))
            convs.append(try b.scope("_project_conv").convBN(norm: b.scope("_bn2"), inChannels: width, stride: 1, padding: same,
                                                             eps: eps, activation: .none))
            blocks.append(ConvBlock(convolutions: convs, shortcut: nil, residual: stride == 1 && out == inChannels))
            inChannels = out
            n += 1
        }
        guard n > 0 else {
            throw WeightsError.missingTensor(path: source.path, tensor: "_blocks.0._depthwise_conv.weight",
                                             similar: WeightNames.similar(to: "_blocks.0._depthwise_conv.weight", in: source.names))
        }
        let head = try root.scope("_conv_head").convBN(norm: root.scope("_bn1"), inChannels: inChannels, stride: 1, padding: same, eps: eps, activation: .relu6)
        classifier = loader.has("_fc.weight") ? try root.scope("_fc").linear(in: head.outChannels, out: try root.scope("_fc").shape(of: "weight")[0]) : nil
        try loader.finish()
        network = ConvNetwork(stem: [stem], stemPool: nil, blocks: blocks, head: [head], featureCount: head.outChannels, inputChannels: 3)
        self.preprocessor = preprocessor ?? .efficientNetLite0
        self.name = name
        BLAS.setThreads(1)
    }

    /// Opens a checkpoint file (`efficientnet-lite0-*.pth`, any format QuiverWeights reads).
    public init(file: URL) throws {
        let base = file.deletingPathExtension().lastPathComponent
        let name = base.hasPrefix("efficientnet-lite") ? String(base.prefix("efficientnet-lite".count + 1)) : "efficientnet-lite"
        try self.init(weights: try WeightFiles.open(path: file.path), name: name)
    }

    /// Accepts any 3-channel image of at least 1x1 pixels (the network ends in a global average pool).
    /// - Throws: `ModelsError.invalidImage` naming `index` for another channel count or an empty image.
    public func validate(_ image: ImageTensor, index: Int) throws {
        guard image.channels == 3 else {
            throw ModelsError.invalidImage(index: index, reason: "has \(image.channels) channels, \(name) takes 3")
        }
        guard image.height >= 1, image.width >= 1 else {
            throw ModelsError.invalidImage(index: index, reason: "is empty")
        }
    }

    /// Embeds one validated `[3, H, W]` image on the calling thread, writing ``dimension`` unnormalized floats
    /// (the pooled head features) to `out`; convolutions are split over `threads`.
    public func forward(_ image: ImageTensor, into out: UnsafeMutablePointer<Float>, workspace: Workspace, threads: Int) {
        image.values.withUnsafeBufferPointer { px in
            network.forward(chw: px.baseAddress!, height: image.height, width: image.width, features: out, workspace: workspace, threads: threads)
        }
    }

    /// ImageNet logits (`[classes]`) for pooled features (`dimension` floats), or nil without a classifier.
    public func logits(features: [Float]) -> [Float]? {
        guard let classifier, features.count == dimension else { return nil }
        return classifier(Tensor(shape: [1, features.count], values: features)).array
    }
}
