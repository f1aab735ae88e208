import ArgumentParser
import Quiver

/// `--precision fp32|int8` on `embed`, `ingest` and `serve`.
extension Precision: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { ["fp32", "int8"] }
    public var defaultValueDescription: String { self == .float32 ? "fp32" : "int8" }

    /// The help text every command shows for the option.
    static let help = ArgumentHelp(
        "Precision of the text model's linear layers: fp32 (exact, the default) or int8 (weights quantized per output channel, activations per token; faster, cosine >= 0.999 to fp32 on the tested models; BERT and MPNet text models).",
        valueName: "fp32|int8")
}
