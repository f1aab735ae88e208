import ArgumentParser
import Foundation
import Quiver

/// `quiver similarity`: CLIP scores of texts against images.
struct SimilarityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similarity",
        abstract: "Score images against texts with a CLIP model.",
        discussion: """
        For each text and image: the CLIP logit, exp(logit_scale) × cosine of their embeddings (as \
        transformers' logits_per_text), and per text the softmax of its logits across the given \
        images (the zero-shot "which image" probability).

        Examples:
          quiver similarity --model clip-vit-base-patch32 --text "a cat" --text "a rocket" cat.jpg rocket.jpg
          quiver similarity --model ./my-clip-folder --text "a cup of coffee" *.png --format json
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @Option(name: .shortAndLong, help: "CLIP model: catalog name, hub id or folder.")
    var model: String = "clip-vit-base-patch32"

    @Option(name: .long, help: "A text to score the images against (repeat for several).")
    var text: [String] = []

    @Argument(help: "Image files.")
    var images: [String] = []

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if text.isEmpty { throw ValidationError("give at least one --text to score the images against") }
        if images.isEmpty { throw ValidationError("give image files to score") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, got \(threads)") }
    }

    func run() async throws {
        let clip = try CLIPEmbedder(model: model)
        let urls = try CLIPEmbedder.imageFiles(images)
        let s = try clip.similarity(texts: text, imageFiles: urls, threads: threads)
        switch format {
        case .json:
            struct Out: Encodable {
                let model: String; let logit_scale: Float; let texts: [String]; let images: [String]
                let cosines: [[Float]]; let logits: [[Float]]; let probabilities: [[Float]]
            }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try enc.encode(Out(model: clip.modelName, logit_scale: clip.logitScale, texts: text, images: images,
                                          cosines: s.cosines, logits: s.logits, probabilities: s.probabilities))
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        case .table:
            var out = ""
            for (t, label) in text.enumerated() {
                out += "\"\(label)\"\n"
                let order = s.logits[t].indices.sorted { s.logits[t][$0] > s.logits[t][$1] }
                for i in order {
                    out += String(format: "  %6.2f%%  logit %8.4f  cos %+.4f  %@\n",
                                  s.probabilities[t][i] * 100, s.logits[t][i], s.cosines[t][i], images[i])
                }
            }
            out += String(format: "%d text(s) × %d image(s), %@, exp(logit_scale) = %.4f\n",
                          text.count, images.count, clip.modelName, exp(clip.logitScale))
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }
}
