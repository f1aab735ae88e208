import Foundation

/// OpenAI CLIP's tokenizer built from its BPE merges file (`bpe_simple_vocab_16e6.txt[.gz]`),
/// exactly as Hugging Face derives `vocab.json`/`merges.txt` from it and runs it in
/// `CLIPTokenizerFast`:
///
/// - vocabulary: the 256 byte symbols (GPT-2 order), the same with `</w>`, one entry per merge of
///   lines 1...48894, then `<|startoftext|>` (49406) and `<|endoftext|>` (49407);
/// - text cleanup: NFC, runs of whitespace → one space, lowercase;
/// - pre-tokenization: CLIP's regex (letters, single digits, punctuation runs, contractions),
///   then byte-level symbols; BPE with the `</w>` end-of-word suffix, unknown → `<|endoftext|>`;
/// - `<|startoftext|> … <|endoftext|>` around the text.
public enum CLIPTokenizer {
    /// Token ids of the two special tokens.
    public static let startOfTextID = 49406
    /// See `startOfTextID`.
    public static let endOfTextID = 49407
    /// The text encoder's context length.
    public static let contextLength = 77
    /// Number of merges CLIP uses (`49152 - 256 - 2`).
    public static let mergeCount = 48894

    /// Loads the merges file (gzip or plain text) and builds the tokenizer.
    /// - Parameters:
    ///   - url: OpenAI's `bpe_simple_vocab_16e6.txt.gz` (or its uncompressed text).
    ///   - maxLength: truncation length including the two special tokens (77 for CLIP's
    ///     text encoder); nil disables truncation. No padding is configured (the model takes the
    ///     end-of-text position as the pooled token).
    /// - Throws: `TokenizerError.unreadableFile` when the file cannot be read or its gzip data is corrupt;
    ///   `.invalidMergesFile` when it is not UTF-8 text or does not hold CLIP's header line and 48 894 merges.
    public static func load(mergesFile url: URL, maxLength: Int? = contextLength) throws -> Tokenizer {
        var data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        if Gzip.isCompressed(data) { data = try Gzip.decompress(data, path: url.path) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.invalidMergesFile(path: url.path, reason: "not UTF-8 text")
        }
        var tokenizer = try Tokenizer(config: config(mergesText: text, path: url.path), source: url.path)
        tokenizer.maxLength = maxLength
        return tokenizer
    }

    /// The tokenizer configuration for a merges file's text (first line a `#version` header).
    public static func config(mergesText text: String, path: String = "<merges>") throws -> TokenizerConfig {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > mergeCount else {
            throw TokenizerError.invalidMergesFile(path: path, reason: "has \(lines.count) lines, CLIP needs a header line and \(mergeCount) merges")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeCount)
        for i in 1...mergeCount {
            let parts = lines[i].split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else {
                throw TokenizerError.invalidMergesFile(path: path, reason: "line \(i + 1) \"\(lines[i])\" is not two space-separated symbols")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        let symbols = ByteLevelTable.symbolOrder.map { String(Unicode.Scalar($0)!) }
        var tokens = symbols + symbols.map { $0 + "</w>" }
        tokens.reserveCapacity(49408)
        for (a, b) in merges { tokens.append(a + b) }
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        let vocab = Vocabulary(tokens: tokens)
        let distinct = vocab.table().count
        guard distinct == 49408 else {
            throw TokenizerError.invalidMergesFile(path: path, reason: "built \(distinct) distinct vocabulary entries, expected 49408 (duplicate merges?)")
        }
        let model = ModelConfig.bpe(.init(vocab: vocab, merges: MergeList(pairs: merges), unkToken: "<|endoftext|>",
                                          continuingSubwordPrefix: "", endOfWordSuffix: "</w>"))
        return TokenizerConfig(
            addedTokens: [AddedToken(id: startOfTextID, content: "<|startoftext|>"), AddedToken(id: endOfTextID, content: "<|endoftext|>")],
            normalizer: .sequence([.unicode(.nfc), .replace(pattern: .regex(#"\s+"#), content: " "), .lowercase]),
            preTokenizer: .sequence([.split(pattern: .regex(clipRegex), behavior: .removed, invert: true),
                                     .byteLevel(addPrefixSpace: false, useRegex: true)]),
            model: model,
            postProcessor: .roberta(sep: ("<|endoftext|>", endOfTextID), cls: ("<|startoftext|>", startOfTextID), trimOffsets: false, addPrefixSpace: false),
            decoder: .sequence([.bpe(suffix: "</w>"), .byteLevel]))
    }
}
