import Foundation
import Hummingbird
import Quiver

/// `POST /v1/embeddings`, compatible with OpenAI's embeddings API.
///
/// Request: `input` (a string or an array of strings), `model` (catalog name, hub id or folder),
/// `encoding_format` (`float`, the default, or `base64`: the vector's float32 values as
/// little-endian bytes, base64-encoded, as OpenAI sends them), `dimensions` (accepted only when
/// equal to the model's width: these models have no shortened variants), `user` (ignored).
/// Texts longer than the model's limit are truncated, as sentence-transformers does.
/// Prompts (as TEI and Cohere-style APIs take them): `input_type` (`query`/`search_query`, or
/// `passage`/`document`/`search_document`; `classification`/`clustering` use the default
/// prompt) puts the model's prompt for that kind of text first; `prompt_name` names one of the
/// model's prompts (config_sentence_transformers.json `prompts`) and wins over `input_type`.
///
/// Response: `{"object": "list", "data": [{"object": "embedding", "index": i, "embedding": ...}],
/// "model": name, "usage": {"prompt_tokens": n, "total_tokens": n}}`; tokens are counted after
/// truncation, special tokens included.
///
/// The forward passes are shared with concurrent requests for the same model (`EmbeddingBatcher`);
/// when the model's queue is full the answer is 503 `server_busy` with `Retry-After`.
struct EmbeddingsController: Sendable {
    let models: ModelCache
    let textEmbeddings: TextEmbeddings
    let metrics: ServerMetrics
    let configuration: ServerConfiguration

    static let knownFields: Set<String> = ["input", "model", "encoding_format", "dimensions", "user", "input_type", "prompt_name"]

    /// A parsed, validated request.
    struct EmbeddingsRequest {
        var texts: [String]
        var model: String
        var base64: Bool
        var dimensions: Int?
        var inputType: TextInputType?
        var promptName: String?
    }

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/v1/embeddings") { request, _ in try await self.embeddings(request) }
    }

    func embeddings(_ request: Request) async throws -> Response {
        let body = try JSONBody(bytes: try await request.bodyBytes(limit: configuration.maxBodyBytes))
        let parsed = try Self.parse(body, maxInputs: configuration.maxInputs)
        let embedder = try await models.embedder(for: parsed.model)
        if let d = parsed.dimensions, d != embedder.dimension {
            throw APIError.badRequest("'dimensions' is \(d), but \(embedder.modelName) makes \(embedder.dimension)-dimensional vectors and cannot shorten them; omit 'dimensions' or send \(embedder.dimension)",
                                      param: "dimensions")
        }
        if let promptName = parsed.promptName, embedder.prompts.prompts[promptName] == nil {
            throw APIError.badRequest(QuiverError.unknownPrompt(model: embedder.modelName, name: promptName,
                                                                available: embedder.prompts.prompts.keys.sorted()).description,
                                      param: "prompt_name")
        }
        let (vectors, tokens) = try await textEmbeddings.embed(parsed.texts, with: embedder, inputType: parsed.inputType,
                                                               promptName: parsed.promptName)
        metrics.recordEmbeddings(model: embedder.modelName, count: vectors.count, tokens: tokens)
        let json = Self.render(vectors: vectors, base64: parsed.base64, model: embedder.modelName, tokens: tokens)
        return JSONText.response(json)
    }

    /// Validates the request fields; every error names the field (and element) at fault.
    static func parse(_ body: JSONBody, maxInputs: Int) throws -> EmbeddingsRequest {
        if let unknown = body.object.keys.sorted().first(where: { !knownFields.contains($0) }) {
            throw APIError.badRequest("unrecognized request argument '\(unknown)' (accepted: input, model, encoding_format, dimensions, user, input_type, prompt_name)",
                                      param: unknown)
        }
        guard let model = try body.string("model", required: true), !model.isEmpty else {
            throw APIError.badRequest("'model' must not be empty (e.g. \"all-MiniLM-L6-v2\")", param: "model")
        }
        guard let input = body.object["input"], !(input is NSNull) else {
            throw APIError.badRequest("missing required field 'input' (a string or an array of strings)", param: "input")
        }
        var texts: [String]
        if let s = input as? String {
            texts = [s]
        } else if let array = input as? [Any] {
            if array.isEmpty { throw APIError.badRequest("'input' is an empty array; send at least one string", param: "input") }
            texts = []
            texts.reserveCapacity(array.count)
            for (i, element) in array.enumerated() {
                if let s = element as? String { texts.append(s); continue }
                if element is NSNumber && !JSONBody.isBool(element) || element is [Any] {
                    throw APIError.badRequest("'input' holds token ids (input[\(i)] is \(JSONBody.typeName(element))); this server embeds text only: send the strings instead of token arrays",
                                              param: "input")
                }
                throw APIError.badRequest("input[\(i)] must be a string, got \(JSONBody.typeName(element))", param: "input")
            }
        } else {
            throw APIError.badRequest("'input' must be a string or an array of strings, got \(JSONBody.typeName(input))", param: "input")
        }
        if texts.count > maxInputs {
            throw APIError.badRequest("'input' has \(texts.count) items, more than this server's limit of \(maxInputs) per request (quiver serve --max-inputs); split it",
                                      param: "input")
        }
        var base64 = false
        if let format = try body.string("encoding_format") {
            switch format {
            case "float": base64 = false
            case "base64": base64 = true
            default:
                throw APIError.badRequest("'encoding_format' must be \"float\" or \"base64\", got \(JSONText.string(format))", param: "encoding_format")
            }
        }
        let dimensions = try body.int("dimensions")
        if let d = dimensions, d <= 0 {
            throw APIError.badRequest("'dimensions' must be positive, got \(d)", param: "dimensions")
        }
        if body.has("user"), !(body.object["user"] is String) {
            throw APIError.badRequest("'user' must be a string, got \(JSONBody.typeName(body.object["user"]))", param: "user")
        }
        var inputType: TextInputType?
        if let t = try body.string("input_type") {
            if let parsed = TextInputType(apiName: t) {
                inputType = parsed
            } else if !["classification", "clustering"].contains(t.lowercased()) {
                throw APIError.badRequest("'input_type' must be \"query\" or \"passage\" (also: \"document\", \"search_query\", \"search_document\", \"classification\", \"clustering\"), got \(JSONText.string(t))",
                                          param: "input_type")
            }
        }
        let promptName = try body.string("prompt_name")
        if let p = promptName, p.isEmpty {
            throw APIError.badRequest("'prompt_name' must not be empty (omit it for the model's default prompt)", param: "prompt_name")
        }
        return EmbeddingsRequest(texts: texts, model: model, base64: base64, dimensions: dimensions,
                                 inputType: inputType, promptName: promptName)
    }

    /// The response body (built by hand: shortest round-trip floats, no intermediate objects).
    static func render(vectors: [[Float]], base64: Bool, model: String, tokens: Int) -> String {
        var s = "{\"object\": \"list\", \"data\": ["
        s.reserveCapacity(64 + vectors.count * ((vectors.first?.count ?? 0) * (base64 ? 6 : 12) + 48))
        for (i, v) in vectors.enumerated() {
            if i > 0 { s += ", " }
            s += "{\"object\": \"embedding\", \"index\": \(i), \"embedding\": "
            if base64 {
                s += "\"" + base64Float32(v) + "\""
            } else {
                s += "["
                for (j, x) in v.enumerated() {
                    if j > 0 { s += ", " }
                    s += JSONText.number(x)
                }
                s += "]"
            }
            s += "}"
        }
        s += "], \"model\": \(JSONText.string(model)), \"usage\": {\"prompt_tokens\": \(tokens), \"total_tokens\": \(tokens)}}"
        return s
    }

    /// The float32 values as little-endian bytes, base64-encoded (what OpenAI's `base64` format carries).
    static func base64Float32(_ v: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(v.count * 4)
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } }
        return Data(bytes).base64EncodedString()
    }
}
