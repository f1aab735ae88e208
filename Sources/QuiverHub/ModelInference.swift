import Foundation

/// Describes a model folder that is not in the catalog from its files: `config.json` (`model_type`,
/// hidden sizes), sentence-transformers files (pooling, normalize, max length), weight file names and magic bytes.
public enum ModelInference {
    /// True when `url` is a folder holding model files (config.json, *.safetensors, *.pth, *.bin).
    public static func isModelFolder(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue,
              let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return false }
        return names.contains { $0 == "config.json" || $0.hasSuffix(".safetensors") || $0.hasSuffix(".pth") || $0 == "model.bin" || $0 == "pytorch_model.bin" }
    }

    /// A catalog-like description of the folder (its last path component is the name).
    /// Unknown facts stay nil; a missing folder gives an entry with no files.
    public static func describe(folder: URL) -> CatalogEntry {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: folder.path))?.sorted() ?? []
        let config = json(folder.appendingPathComponent("config.json"))
        let modelType = (config?["model_type"] as? String)?.lowercased()

        var weights: [WeightFile] = []
        for n in names where n.hasSuffix(".safetensors") { weights.append(WeightFile(n, .safetensors)) }
        if names.contains("pytorch_model.bin") { weights.append(WeightFile("pytorch_model.bin", pickleFormat(folder.appendingPathComponent("pytorch_model.bin")))) }
        for n in names where n.hasSuffix(".pth") || n.hasSuffix(".pt") { weights.append(WeightFile(n, pickleFormat(folder.appendingPathComponent(n)))) }
        if names.contains("model.bin") { weights.append(WeightFile("model.bin", .ctranslate2)) }

        var architecture: Architecture?
        switch modelType {
        case "bert", "roberta", "xlm-roberta", "distilbert": architecture = .bert
        case "mpnet": architecture = .mpnet
        case "clip": architecture = .clip
        case "whisper": architecture = .whisper
        case "resnet": architecture = .resnet
        case "perceiver": architecture = .perceiver
        default:
            let lower = folder.lastPathComponent.lowercased() + " " + names.joined(separator: " ").lowercased()
            if lower.contains("whisper") || config?["suppress_ids"] != nil || config?["alignment_heads"] != nil { architecture = .whisper }
            else if lower.contains("efficientnet-lite") || lower.contains("efficientnet_lite") { architecture = .efficientnetLite }
            else if lower.contains("resnet") { architecture = .resnet }
            else if lower.contains("clip") { architecture = .clip }
        }

        // A sequence-classification head (a cross-encoder): scores text pairs, gives no vector.
        let classifier = (config?["architectures"] as? [String])?.contains { $0.hasSuffix("ForSequenceClassification") } == true
        if classifier && modelType == "xlm-roberta" { architecture = .xlmRoberta }
        let modality: Modality
        switch architecture {
        case _ where classifier: modality = .textPair
        case .clip: modality = .imageText
        case .resnet, .efficientnetLite: modality = .image
        case .whisper: modality = .audio
        case .perceiver: modality = .video
        default: modality = .text
        }

        var dimension: Int?
        switch architecture {
        case .clip: dimension = config?["projection_dim"] as? Int
        case .whisper: dimension = config?["d_model"] as? Int
        case .resnet: dimension = (config?["hidden_sizes"] as? [Int])?.last ?? (weights.contains { $0.format != .safetensors } ? 2048 : nil)
        case .efficientnetLite: dimension = 1280
        case .perceiver: dimension = config?["d_latents"] as? Int
        default: dimension = classifier ? nil : config?["hidden_size"] as? Int
        }

        var defaults = ModelDefaults()
        var required: [String] = names.filter { ["config.json", "tokenizer.json", "preprocessor_config.json", "vocab.json", "merges.txt", "vocabulary.txt"].contains($0) }
        if let pool = json(folder.appendingPathComponent("1_Pooling/config.json")) {
            required.append("1_Pooling/config.json")
            if let d = pool["word_embedding_dimension"] as? Int { dimension = d }
            if pool["pooling_mode_cls_token"] as? Bool == true { defaults.pooling = .cls }
            else if pool["pooling_mode_max_tokens"] as? Bool == true { defaults.pooling = .max }
            else { defaults.pooling = .mean }
        }
        if let modules = jsonArray(folder.appendingPathComponent("modules.json")) {
            defaults.normalize = modules.contains { ($0["type"] as? String)?.hasSuffix("Normalize") == true }
        }
        if let st = json(folder.appendingPathComponent("sentence_bert_config.json")) {
            defaults.maxSequenceLength = st["max_seq_length"] as? Int
        }
        if let pre = json(folder.appendingPathComponent("preprocessor_config.json")) {
            if let crop = pre["crop_size"] as? Int { defaults.imageSize = crop }
            else if let crop = pre["crop_size"] as? [String: Any], let h = crop["height"] as? Int { defaults.imageSize = h }
            else if let size = pre["size"] as? Int { defaults.imageSize = size }
            else if let size = pre["size"] as? [String: Any] { defaults.imageSize = (size["shortest_edge"] as? Int) ?? (size["height"] as? Int) }
            if let sr = pre["sampling_rate"] as? Int { defaults.sampleRate = sr }
            if let mel = pre["feature_size"] as? Int { defaults.melBins = mel }
        }
        if architecture == .clip { defaults.pooling = .model; defaults.normalize = true }
        if architecture == .resnet || architecture == .efficientnetLite { defaults.pooling = .model; defaults.imageSize = defaults.imageSize ?? 224 }

        return CatalogEntry(name: folder.lastPathComponent, modality: modality, dimension: dimension, architecture: architecture,
                            files: ModelFiles(required: required, weights: weights), sources: [],
                            defaults: defaults, summary: "described from the folder's files")
    }

    /// `.pytorch` for a zip checkpoint (starts with `PK`), `.pytorchLegacy` otherwise.
    static func pickleFormat(_ url: URL) -> WeightFormat {
        guard let h = try? FileHandle(forReadingFrom: url) else { return .pytorch }
        defer { try? h.close() }
        let magic = (try? h.read(upToCount: 2)) ?? Data()
        return magic == Data([0x50, 0x4B]) ? .pytorch : .pytorchLegacy
    }

    /// Total bytes of regular files under `url`.
    static func folderSize(_ url: URL) -> Int64 {
        guard let e = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) else { return 0 }
        var total: Int64 = 0
        for case let f as URL in e {
            let v = try? f.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey])
            if v?.isRegularFile == true { total += Int64(v?.fileSize ?? 0) }
        }
        return total
    }

    static func json(_ url: URL) -> [String: Any]? {
        guard let d = try? Data(contentsOf: url) else { return nil }
        return (try? JSONSerialization.jsonObject(with: d)) as? [String: Any]
    }

    static func jsonArray(_ url: URL) -> [[String: Any]]? {
        guard let d = try? Data(contentsOf: url) else { return nil }
        return (try? JSONSerialization.jsonObject(with: d)) as? [[String: Any]]
    }
}
