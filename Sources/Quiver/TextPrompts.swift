import Foundation
import QuiverHub

/// What a text is, for models trained with instructions: a search query, or a passage (document)
/// to be found. Retrieval models such as e5 and bge expect different prompts for the two.
public enum TextInputType: String, Sendable, CaseIterable, Hashable {
    /// A search query (prompt `query`).
    case query
    /// A document or passage to be searched (prompt `document`, `passage` or `corpus`).
    case passage

    /// Reads the names APIs use: `query`, `search_query` (Cohere, Nomic) → query;
    /// `passage`, `document`, `doc`, `corpus`, `search_document` → passage. Case-insensitive.
    public init?(apiName: String) {
        switch apiName.lowercased() {
        case "query", "search_query", "queries": self = .query
        case "passage", "document", "doc", "documents", "passages", "corpus", "search_document": self = .passage
        default: return nil
        }
    }

    /// Prompt names looked up for this input type, in order (as sentence-transformers'
    /// `encode_query` / `encode_document` do).
    public var promptNames: [String] {
        switch self {
        case .query: return ["query"]
        case .passage: return ["document", "passage", "corpus"]
        }
    }
}

/// The prompts (instructions) of a text model: the `prompts` and `default_prompt_name` of its
/// `config_sentence_transformers.json`, completed by the catalog's query/passage prefixes.
///
/// As in sentence-transformers, a prompt is a string put before the text before it is
/// tokenized; with `default_prompt_name` set, texts embedded without a prompt get that one.
public struct TextPrompts: Sendable, Hashable {
    /// Prompt name → the text put before the input.
    public var prompts: [String: String]
    /// The prompt used when none is asked for (nil: no prompt).
    public var defaultPromptName: String?
    /// False when the model's pooling leaves the prompt's tokens out (`include_prompt: false` in
    /// `1_Pooling/config.json`, instructor-style models), which Quiver does not run.
    public var includePrompt: Bool = true

    /// Prompts given explicitly.
    public init(prompts: [String: String] = [:], defaultPromptName: String? = nil) {
        self.prompts = prompts; self.defaultPromptName = defaultPromptName
    }

    private struct File: Decodable {
        var prompts: [String: String]?
        var default_prompt_name: String?
    }
    private struct PoolingFile: Decodable { var include_prompt: Bool? }

    /// Reads `config_sentence_transformers.json` of a model folder (no file: no prompts), and
    /// `include_prompt` of its `1_Pooling/config.json`.
    /// - Throws: `QuiverError.unsupportedModel` naming the file when it is not valid JSON of that
    ///   shape or its `default_prompt_name` is not one of its `prompts`.
    public static func load(folder: URL) throws -> TextPrompts {
        var out = TextPrompts()
        let url = folder.appendingPathComponent("config_sentence_transformers.json")
        if let data = FileManager.default.contents(atPath: url.path) {
            let f: File
            do { f = try JSONDecoder().decode(File.self, from: data) } catch {
                throw QuiverError.unsupportedModel(name: folder.path, reason: "\(url.path) is not valid: \(error)")
            }
            out.prompts = f.prompts ?? [:]
            if let d = f.default_prompt_name {
                guard out.prompts[d] != nil else {
                    throw QuiverError.unsupportedModel(name: folder.path,
                        reason: "\(url.path): default_prompt_name '\(d)' is not one of its prompts (\(out.prompts.keys.sorted().joined(separator: ", ")))")
                }
                out.defaultPromptName = d
            }
        }
        let pooling = folder.appendingPathComponent("1_Pooling/config.json")
        if let data = FileManager.default.contents(atPath: pooling.path),
           let p = try? JSONDecoder().decode(PoolingFile.self, from: data), p.include_prompt == false {
            out.includePrompt = false
        }
        return out
    }

    /// These prompts completed with a catalog entry's prefixes: `queryPrefix` becomes prompt
    /// `query` and `documentPrefix` prompt `passage` unless the folder already defines them.
    public func completed(with defaults: ModelDefaults) -> TextPrompts {
        var out = self
        if let q = defaults.queryPrefix, out.prompts["query"] == nil { out.prompts["query"] = q }
        if let d = defaults.documentPrefix, !TextInputType.passage.promptNames.contains(where: { out.prompts[$0] != nil }) {
            out.prompts["passage"] = d
        }
        return out
    }

    /// The prompt name used for `inputType` (the first of its names the model defines, else the
    /// default prompt), or nil when the model has none for it.
    public func promptName(for inputType: TextInputType) -> String? {
        inputType.promptNames.first { prompts[$0] != nil } ?? defaultPromptName
    }

    /// The text put before the inputs, as sentence-transformers chooses it: `promptName` when
    /// given, else the input type's prompt, else the default prompt; nil for none.
    /// - Throws: `QuiverError.unknownPrompt` when `promptName` is not one of the model's prompts.
    public func resolve(promptName: String?, inputType: TextInputType?, model: String) throws -> String? {
        if let promptName {
            guard let p = prompts[promptName] else {
                throw QuiverError.unknownPrompt(model: model, name: promptName, available: prompts.keys.sorted())
            }
            return p
        }
        let name = inputType.map { self.promptName(for: $0) } ?? defaultPromptName
        return name.flatMap { prompts[$0] }
    }
}
