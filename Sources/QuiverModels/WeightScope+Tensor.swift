import QuiverTensor
import QuiverWeights

extension WeightTensor {
    /// The values as a `Tensor` without copying (a float32 checkpoint stays memory-mapped).
    public var tensor: Tensor { Tensor(borrowing: storage.pointer, shape: shape, owner: storage) }
}

extension WeightScope {
    /// `prefix + name` as a tensor of exactly `shape`.
    func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        try tensor(name, shape: shape).tensor
    }

    /// A `Linear` from `weight` [out, in] and `bias` [out] under this scope.
    func linear(in inFeatures: Int, out outFeatures: Int, bias: Bool = true) throws -> Linear {
        Linear(weight: try tensor("weight", [outFeatures, inFeatures]),
               bias: bias ? try tensor("bias", [outFeatures]) : nil)
    }

    /// A `LayerNorm` from `weight` and `bias` [features] under this scope.
    func layerNorm(features: Int, eps: Float) throws -> LayerNorm {
        LayerNorm(weight: try tensor("weight", [features]), bias: try tensor("bias", [features]), features: features, eps: eps)
    }
}
