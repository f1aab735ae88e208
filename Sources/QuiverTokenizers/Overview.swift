// QuiverTokenizers — the Hugging Face `tokenizers` pipeline in Swift.
//
// Load a tokenizer.json and encode text into model inputs:
//
//     var tokenizer = try Tokenizer(contentsOf: modelFolder.appendingPathComponent("tokenizer.json"))
//     tokenizer.padding = nil          // the file's `padding` section applies unless overridden
//     tokenizer.maxLength = 256        // truncation (special tokens included); nil = none
//     let encoding = tokenizer.encode("A man is playing a guitar.")
//     encoding.ids / .typeIDs / .attentionMask / .tokens / .offsets / .specialTokensMask
//     let batch = tokenizer.encodeBatch(texts)       // parallel for large batches, padded per `padding`
//     let text = tokenizer.decode(encoding.ids)      // skips special tokens by default
//
//     let clip = try CLIPTokenizer.load(mergesFile: home.appendingPathComponent("models/clip-bpe/bpe_simple_vocab_16e6.txt.gz"))
//
// Pipeline (one file per stage; each has a Decodable `…Config` enum with HF key names and a
// factory that builds the stage): AddedVocabulary (tokens matched before normalization when
// `normalized: false`, after it otherwise) → Normalizers → PreTokenizers → Models (WordPiece,
// BPE, Unigram) → truncation (Encoding.swift) → PostProcessors → padding; Decoders for ids → text.
//
// Internally text is an array of Unicode scalars with, per scalar, the original scalar range it
// came from (TextBuffer); pre-tokenizers that do not rewrite text only produce ranges; vocabulary
// lookups hash scalar slices directly (ScalarTable), so the hot path allocates a few arrays per
// text and no strings except the token strings of the result. Offsets are in Unicode scalars
// (Python `str` indices), as the Python `tokenizers` binding reports them.
