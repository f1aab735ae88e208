import Foundation
import QuiverMedia
import QuiverTensor
import QuiverWeights

/// ResNet (18/34/50/101/152, basic or bottleneck blocks) as a feature extractor: the globally
/// average-pooled output of the last stage (2048 floats for ResNet-50), the classifier dropped.
///
/// Loads Hugging Face `ResNetModel` / `ResNetForImageClassification` checkpoints
/// (`embedder.embedder.convolution`, `encoder.stages.N.layers.M.layer.K` / `.shortcut`, optional
/// `resnet.` prefix) and torchvision state dicts (`conv1`, `bn1`, `layerN.M.convK`/`bnK`/`downsample`,
/// `fc`). BatchNorm is folded into the convolutions at load; activations are NHWC.
public struct ResNet: ImageEmbeddingModel {
    /// Where the weights came from (their names and default preprocessing differ).
    public enum Layout: String, Sendable { case huggingFace, torchvision }

    /// Whether the weights use Hugging Face or torchvision tensor names.
    public let layout: Layout
    /// Depth and origin, e.g. `resnet50 (torchvision)` or `resnet50 (Hugging Face)`.
    public let name: String
    /// Makes the `[3, H, W]` input from a decoded image: the folder's `preprocessor_config.json`, else
    /// `ImagePreprocessor.torchvisionImageNet` (resize 256, center crop 224, ImageNet mean/std).
    public let preprocessor: ImagePreprocessor
    let network: ConvNetwork

    /// Length of the embedding: channels of the last stage (2048 for ResNet-50, 512 for ResNet-18/34).
    public var dimension: Int { network.featureCount }
    /// Number of residual blocks per stage.
    public let depths: [Int]
    /// True for bottleneck blocks (ResNet-50 and deeper).
    public let isBottleneck: Bool

    /// Binds a Hugging Face checkpoint described by `config`.
    /// - Parameters:
    ///   - config: the decoded `config.json` (depths, widths, block type).
    ///   - source: the checkpoint, `ResNetModel` or `ResNetForImageClassification` names (`classifier.*` is ignored).
    ///   - preprocessor: defaults to `ImagePreprocessor.torchvisionImageNet` (shorter side 256 bilinear, center
    ///     crop 224, ImageNet mean/std); ``init(folder:)`` passes the folder's `preprocessor_config.json` instead.
    ///   - configPath: names the configuration in error messages.
    /// - Throws: `ModelsError` for an unsupported configuration; `WeightsError` naming a missing,
    ///   misshapen or unused tensor.
    public init(config: ResNetConfig, weights source: WeightSource, preprocessor: ImagePreprocessor? = nil, configPath: String = "config.json") throws {
        try config.validate(path: configPath)
        let loader = WeightLoader(source)
        let prefixed = !loader.has("embedder.embedder.convolution.weight") && loader.has("resnet.embedder.embedder.convolution.weight")
        loader.ignoredUnused = [{ $0.hasPrefix("classifier.") }]
        let root = prefixed ? loader.root.scope("resnet") : loader.root
        let act = Activation(huggingFaceName: config.hiddenAct) ?? .relu
        let eps: Float = 1e-5
        let same: (Int) -> Conv2D.Padding = { .symmetric($0 / 2) }
        func convLayer(_ s: WeightScope, inChannels: Int, stride: Int, activation: Activation) throws -> Conv2D {
            try s.scope("convolution").convBN(norm: s.scope("normalization"), inChannels: inChannels, stride: stride,
                                              padding: same, eps: eps, activation: activation)
        }
        let stem = try convLayer(root.scope("embedder").scope("embedder"), inChannels: config.numChannels, stride: 2, activation: act)
        guard stem.outChannels == config.embeddingSize else {
            throw WeightsError.shapeMismatch(path: source.path, tensor: root.prefix + "embedder.embedder.convolution.weight",
                                             expected: [config.embeddingSize, config.numChannels, stem.kernelHeight, stem.kernelWidth],
                                             actual: [stem.outChannels, config.numChannels, stem.kernelHeight, stem.kernelWidth])
        }
        var blocks: [ConvBlock] = []
        var inChannels = config.embeddingSize
        let bottleneck = config.layerType == "bottleneck"
        for (s, (out, depth)) in zip(config.hiddenSizes, config.depths).enumerated() {
            for m in 0..<depth {
                let stride = m == 0 && (s > 0 || config.downsampleInFirstStage) ? 2 : 1
                let l = root.scope("encoder").scope("stages").scope(s).scope("layers").scope(m)
                let shortcut = inChannels != out || stride != 1
                    ? try convLayer(l.scope("shortcut"), inChannels: inChannels, stride: stride, activation: .none) : nil
                var convs: [Conv2D]
                if bottleneck {
                    let inStride = config.downsampleInBottleneck ? stride : 1
                    let reduced = out / 4
                    convs = [try convLayer(l.scope("layer").scope(0), inChannels: inChannels, stride: inStride, activation: act),
                             try convLayer(l.scope("layer").scope(1), inChannels: reduced, stride: stride / inStride, activation: act),
                             try convLayer(l.scope("layer").scope(2), inChannels: reduced, stride: 1, activation: act)]
                } else {
                    convs = [try convLayer(l.scope("layer").scope(0), inChannels: inChannels, stride: stride, activation: act),
                             try convLayer(l.scope("layer").scope(1), inChannels: out, stride: 1, activation: act)]
                }
                guard convs.last!.outChannels == out else {
                    throw WeightsError.shapeMismatch(path: source.path, tensor: l.prefix + "layer.\(convs.count - 1).convolution.weight",
                                                     expected: [out], actual: [convs.last!.outChannels])
                }
                blocks.append(ConvBlock(convolutions: convs, shortcut: shortcut, residual: true))
                inChannels = out
            }
        }
        try loader.finish()
        let depthName = Self.depthName(depths: config.depths, bottleneck: bottleneck)
        self.init(layout: .huggingFace, name: "resnet\(depthName) (Hugging Face)", depths: config.depths, bottleneck: bottleneck,
                  network: ConvNetwork(stem: [stem], stemPool: MaxPool(kernel: 3, stride: 2, padding: 1), blocks: blocks, head: [],
                                       featureCount: inChannels, inputChannels: config.numChannels),
                  preprocessor: preprocessor ?? .torchvisionImageNet)
    }

    /// Binds a torchvision ResNet state dict (`torchvision.models.resnet50().state_dict()` and the
    /// other depths), inferring depth, block type and widths from the tensor names and shapes.
    /// `fc.*` (the classifier) is ignored.
    /// - Parameters:
    ///   - source: the state dict (`conv1.weight`, `layer1.0.conv1.weight`, ...).
    ///   - preprocessor: defaults to torchvision's ImageNet recipe (Resize 256, CenterCrop 224).
    /// - Throws: `ModelsError.unsupported` for grouped (ResNeXt) convolutions; `WeightsError` for a
    ///   missing, misshapen or unused tensor.
    public init(torchvisionWeights source: WeightSource, preprocessor: ImagePreprocessor? = nil) throws {
        let loader = WeightLoader(source)
        loader.ignoredUnused = [{ $0.hasPrefix("fc.") }]
        let root = loader.root
        let eps: Float = 1e-5
        let same: (Int) -> Conv2D.Padding = { .symmetric($0 / 2) }
        let stem = try root.scope("conv1").convBN(norm: root.scope("bn1"), stride: 2, padding: same, eps: eps, activation: .relu)
        let bottleneck = loader.has("layer1.0.conv3.weight")
        var blocks: [ConvBlock] = []
        var depths: [Int] = []
        var inChannels = stem.outChannels
        for stage in 1...4 {
            var m = 0
            while loader.has("layer\(stage).\(m).conv1.weight") {
                let l = root.scope("layer\(stage)").scope(m)
                let stride = m == 0 && stage > 1 ? 2 : 1
                if bottleneck {
                    let shape2 = try l.scope("conv2").shape(of: "weight"), shape1 = try l.scope("conv1").shape(of: "weight")
                    if shape2.count == 4, shape1.count == 4, shape2[1] != shape1[0] {
                        throw ModelsError.unsupported(path: source.path, feature: "grouped convolutions (ResNeXt: layer\(stage).\(m).conv2 has \(shape2[1]) input channels per group of \(shape1[0]))")
                    }
                }
                var convs: [Conv2D] = []
                let count = bottleneck ? 3 : 2
                var ci = inChannels
                for k in 1...count {
                    // torchvision (v1.5) strides the 3x3 convolution: conv2 in a bottleneck, conv1 in a basic block.
                    let s = (bottleneck ? k == 2 : k == 1) ? stride : 1
                    let conv = try l.scope("conv\(k)").convBN(norm: l.scope("bn\(k)"), inChannels: ci, stride: s, padding: same,
                                                              eps: eps, activation: .relu)
                    convs.append(conv)
                    ci = conv.outChannels
                }
                let out = ci
                var shortcut: Conv2D?
                if loader.has(l.prefix + "downsample.0.weight") {
                    shortcut = try l.scope("downsample").scope(0).convBN(norm: l.scope("downsample").scope(1), inChannels: inChannels,
                                                                           stride: stride, padding: same, eps: eps, activation: .none)
                } else if inChannels != out || stride != 1 {
                    throw WeightsError.missingTensor(path: source.path, tensor: l.prefix + "downsample.0.weight", similar: [])
                }
                blocks.append(ConvBlock(convolutions: convs, shortcut: shortcut, residual: true))
                inChannels = out
                m += 1
            }
            guard m > 0 else { throw WeightsError.missingTensor(path: source.path, tensor: "layer\(stage).0.conv1.weight", similar: WeightNames.similar(to: "layer\(stage).0.conv1.weight", in: source.names)) }
            depths.append(m)
        }
        try loader.finish()
        let depthName = Self.depthName(depths: depths, bottleneck: bottleneck)
        self.init(layout: .torchvision, name: "resnet\(depthName) (torchvision)", depths: depths, bottleneck: bottleneck,
                  network: ConvNetwork(stem: [stem], stemPool: MaxPool(kernel: 3, stride: 2, padding: 1), blocks: blocks, head: [],
                                       featureCount: inChannels, inputChannels: 3),
                  preprocessor: preprocessor ?? .torchvisionImageNet)
    }

    private init(layout: Layout, name: String, depths: [Int], bottleneck: Bool, network: ConvNetwork, preprocessor: ImagePreprocessor) {
        self.layout = layout
        self.name = name
        self.depths = depths
        self.isBottleneck = bottleneck
        self.network = network
        self.preprocessor = preprocessor
        BLAS.setThreads(1)
    }

    /// Loads a Hugging Face model folder (`config.json`, `model.safetensors` or `pytorch_model.bin`, and
    /// `preprocessor_config.json` when present).
    public init(folder: URL) throws {
        let configURL = folder.appendingPathComponent("config.json")
        let config = try ResNetConfig.load(configURL)
        let pre = folder.appendingPathComponent("preprocessor_config.json")
        let preprocessor = FileManager.default.fileExists(atPath: pre.path) ? try ImagePreprocessor(huggingFaceConfig: pre) : nil
        try self.init(config: config, weights: try ImageModels.openWeights(in: folder),
                      preprocessor: preprocessor, configPath: configURL.path)
    }

    /// "50" for [3, 4, 6, 3] bottleneck blocks: 2 + 3 layers per bottleneck (2 per basic block) + fc.
    static func depthName(depths: [Int], bottleneck: Bool) -> String {
        String(depths.reduce(0, +) * (bottleneck ? 3 : 2) + 2)
    }

    /// Accepts an image with the network's input channels that is large enough to leave at least one pixel after
    /// the stem and the strided stages (about 32x32 pixels).
    /// - Throws: `ModelsError.invalidImage` naming `index` for a wrong channel count or a too small image.
    public func validate(_ image: ImageTensor, index: Int) throws {
        guard image.channels == network.inputChannels else {
            throw ModelsError.invalidImage(index: index, reason: "has \(image.channels) channels, \(name) takes \(network.inputChannels)")
        }
        let o = network.outputSize(height: image.height, width: image.width)
        guard o.height > 0, o.width > 0 else {
            throw ModelsError.invalidImage(index: index, reason: "\(image.width)x\(image.height) is too small for \(name) (at least 32x32)")
        }
    }

    /// Embeds one validated `[3, H, W]` image on the calling thread, writing ``dimension`` unnormalized floats
    /// (the globally average-pooled last stage) to `out`; convolutions are split over `threads`.
    public func forward(_ image: ImageTensor, into out: UnsafeMutablePointer<Float>, workspace: Workspace, threads: Int) {
        image.values.withUnsafeBufferPointer { px in
            network.forward(chw: px.baseAddress!, height: image.height, width: image.width, features: out, workspace: workspace, threads: threads)
        }
    }
}
