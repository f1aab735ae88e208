import Foundation
import Hummingbird

/// `GET /openapi.json`: an OpenAPI 3.0 document of every route `quiver serve` answers, with the
/// request bodies as the routes' decoders read them and the responses as they are written.
///
/// `QuiverServerTests/OpenAPIDocumentTests` compares `paths` with the routes registered on the
/// router, so a route added without a document entry (or the reverse) fails the suite; the
/// schemathesis run of `scripts/server/schemathesis.sh` checks live responses against it.
///
/// Conventions the schemas encode:
/// - OpenAI-style routes (`/v1/*`, `/api/*`, `/healthz`, `/metrics`, `/openapi.json`) answer
///   errors with a 4xx/5xx status and `{"error": {"message", "type", "param", "code"}}`.
/// - Milvus REST v2 routes (`/v2/vectordb/*`) answer HTTP 200 with `{"code": 0, "data": ...}` or
///   `{"code": N, "message": "..."}`, as Milvus does; only a body over the size limit or a
///   missing API key gets a 4xx status (with the Milvus envelope).
enum OpenAPIDocument {
    typealias Object = [String: Any]

    /// The document as JSON text (keys sorted, so it is stable between runs).
    static func json(version: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: document(version: version), options: [.sortedKeys, .prettyPrinted])
        return String(decoding: data, as: UTF8.self)
    }

    /// Every (method, path) the document describes, path parameters written `{name}` (none today).
    static var operations: [(method: String, path: String)] {
        paths.flatMap { path, item in item.keys.map { (method: $0.uppercased(), path: path) } }
    }

    static func document(version: String) -> Object {
        [
            "openapi": "3.0.3",
            "info": [
                "title": "Quiver server (quiver serve)",
                "version": version,
                "description": "OpenAI-compatible embeddings and rerank, the Milvus RESTful API v2 subset over the embedded store, and the search page's JSON API. With --api-key every route but /healthz (and the page at /) needs 'Authorization: Bearer KEY'.",
            ] as Object,
            "paths": paths,
            "components": ["schemas": schemas, "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]]] as Object,
        ]
    }

    // MARK: building blocks

    static func ref(_ name: String) -> Object { ["$ref": "#/components/schemas/\(name)"] }
    static func string(_ description: String? = nil, enum values: [String]? = nil, minLength: Int? = nil) -> Object {
        var s: Object = ["type": "string"]
        if let description { s["description"] = description }
        if let values { s["enum"] = values }
        if let minLength { s["minLength"] = minLength }
        return s
    }
    static func integer(_ description: String? = nil, minimum: Int? = nil, maximum: Int? = nil) -> Object {
        var s: Object = ["type": "integer"]
        if let description { s["description"] = description }
        if let minimum { s["minimum"] = minimum }
        if let maximum { s["maximum"] = maximum }
        return s
    }
    static var number: Object { ["type": "number"] }
    static var boolean: Object { ["type": "boolean"] }
    static var anyValue: Object { [:] }
    static func array(_ items: Object, minItems: Int? = nil) -> Object {
        var s: Object = ["type": "array", "items": items]
        if let minItems { s["minItems"] = minItems }
        return s
    }
    static func object(_ properties: [String: Object], required: [String] = [], closed: Bool = false, description: String? = nil) -> Object {
        var s: Object = ["type": "object", "properties": properties]
        if !required.isEmpty { s["required"] = required.sorted() }
        if closed { s["additionalProperties"] = false }
        if let description { s["description"] = description }
        return s
    }
    static func json(_ schema: Object, _ description: String) -> Object {
        ["description": description, "content": ["application/json": ["schema": schema]]]
    }
    static func body(_ schema: Object, required: Bool = true) -> Object {
        ["required": required, "content": ["application/json": ["schema": schema]]]
    }
    static func query(_ name: String, _ schema: Object, _ description: String, required: Bool = false) -> Object {
        ["name": name, "in": "query", "required": required, "schema": schema, "description": description]
    }

    /// The OpenAI-style error responses a route can answer.
    static func errors(_ codes: [Int]) -> [String: Object] {
        let text: [Int: String] = [
            400: "invalid request (the message names the field)", 401: "missing or wrong API key", 404: "no such model, collection or row",
            405: "method not allowed", 413: "body over the size limit (--max-body)", 416: "range not satisfiable",
            500: "unexpected server error",
            503: "a needed model is not installed (code model_not_installed), or the model's queue is full (code server_busy, with Retry-After; quiver serve --max-queue)",
        ]
        var out: [String: Object] = [:]
        for c in codes { out[String(c)] = json(ref("Error"), text[c] ?? "error") }
        if codes.contains(503), var busy = out["503"] {
            busy["headers"] = ["Retry-After": ["description": "seconds to wait before retrying (sent when the queue is full)",
                                               "schema": ["type": "integer", "minimum": 0] as Object] as Object] as Object
            out["503"] = busy
        }
        return out
    }

    static func responses(_ ok: [String: Object], errors codes: [Int]) -> [String: Object] {
        ok.merging(errors(codes)) { a, _ in a }
    }

    static func operation(_ summary: String, tag: String, request: Object? = nil, parameters: [Object] = [],
                          responses: [String: Object]) -> Object {
        var op: Object = ["summary": summary, "tags": [tag], "responses": responses]
        if let request { op["requestBody"] = request }
        if !parameters.isEmpty { op["parameters"] = parameters }
        return op
    }

    // MARK: paths

    static var paths: [String: [String: Object]] {
        var p: [String: [String: Object]] = [:]
        p["/"] = ["get": operation("The search page (HTML, no external resources; /?q=words searches on load)", tag: "web",
                                   responses: ["200": ["description": "the page", "content": ["text/html": ["schema": string()]]]])]
        p["/openapi.json"] = ["get": operation("This document", tag: "meta",
                                               responses: ["200": json(["type": "object"], "the OpenAPI 3 document")])]
        p["/healthz"] = ["get": operation("Liveness and what is loaded (never needs the API key)", tag: "meta",
                                          responses: ["200": json(ref("Health"), "the server is up")])]
        p["/metrics"] = ["get": operation("Prometheus metrics (text format 0.0.4)", tag: "meta",
                                          responses: responses(["200": ["description": "metrics", "content": ["text/plain": ["schema": string()]]]], errors: [401]))]
        p["/v1/embeddings"] = ["post": operation("Embeddings, compatible with OpenAI's API", tag: "openai",
                                                 request: body(ref("EmbeddingsRequest")),
                                                 responses: responses(["200": json(ref("EmbeddingsResponse"), "one vector per input")], errors: [400, 401, 404, 413, 503]))]
        p["/v1/rerank"] = ["post": operation("Rerank documents for a query with a cross-encoder (Cohere/Jina/TEI shape)", tag: "openai",
                                             request: body(ref("RerankRequest")),
                                             responses: responses(["200": json(ref("RerankResponse"), "documents by relevance, best first")], errors: [400, 401, 404, 413, 503]))]
        p["/api/collections"] = ["get": operation("The store's collections with counts and models", tag: "web",
                                                  responses: responses(["200": json(ref("Collections"), "the collections")], errors: [401]))]
        p["/api/search"] = ["post": operation("Search the ingested files by text", tag: "web",
                                              request: body(ref("WebSearchRequest")),
                                              responses: responses(["200": json(ref("WebSearchResponse"), "hits, best first")], errors: [400, 401, 404, 413, 503]))]
        p["/api/search/file"] = ["post": operation(
            "Search by an uploaded file (image, audio, video or text) sent as the body", tag: "web",
            request: ["required": true, "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]],
            parameters: [
                query("limit", integer(minimum: 1, maximum: WebController.maxLimit), "hits to return (default 10)"),
                query("modality", string(), "comma-separated modalities to search: text, image, audio, video"),
                query("filter", string(), "a filter expression on the rows' fields"),
                query("collection", string(), "the collection base name (default: quiver, else the only one)"),
                query("name", string(), "the uploaded file's name (its extension tells audio from video)"),
                query("t", number, "for a video: the time in seconds of the frame to search by"),
            ],
            responses: responses(["200": json(ref("WebSearchResponse"), "hits, best first")], errors: [400, 401, 404, 413, 503]))]
        let mediaParameters = [
            query("id", string(minLength: 1), "the row id", required: true),
            query("collection", string(), "the collection base name"),
        ]
        let media: [String: Object] = ["200": ["description": "the file", "content": ["*/*": ["schema": ["type": "string", "format": "binary"]]]],
                                       "206": ["description": "the requested range", "content": ["*/*": ["schema": ["type": "string", "format": "binary"]]]]]
        p["/api/media"] = [
            "get": operation("The file of a stored row (Range requests answered with 206)", tag: "web", parameters: mediaParameters,
                             responses: responses(media, errors: [400, 401, 404, 416])),
            "head": operation("The headers of the file of a stored row", tag: "web", parameters: mediaParameters,
                              responses: ["200": ["description": "the file's headers"], "206": ["description": "the range's headers"],
                                          "400": ["description": "invalid request"], "401": ["description": "missing or wrong API key"],
                                          "404": ["description": "no such row or file"], "416": ["description": "range not satisfiable"]]),
        ]
        for (route, summary, request, data) in milvusRoutes {
            p["/v2/vectordb/" + route] = ["post": operation(summary, tag: "milvus", request: body(request), responses: [
                "200": json(["oneOf": [milvusSuccess(data), ref("MilvusError")]], "success (`code` 0) or Milvus' error envelope (`code` ≠ 0, HTTP 200 as Milvus answers)"),
                "401": json(ref("MilvusError"), "missing or wrong API key"),
                "413": json(ref("MilvusError"), "body over the size limit (--max-body)"),
            ])]
        }
        return p
    }

    static func milvusSuccess(_ data: Object) -> Object {
        object(["code": ["type": "integer", "enum": [0]], "data": data, "cost": integer(), "topks": array(integer()), "message": string()],
               required: ["code", "data"])
    }

    // MARK: Milvus routes

    static var collectionName: Object { string("the collection", minLength: 1) }
    static var dbName: Object { string("only `default` exists") }

    static func milvusRequest(_ properties: [String: Object], required: [String] = ["collectionName"]) -> Object {
        var props = properties
        props["dbName"] = dbName
        return object(props, required: required, description: "fields match exactly, else ignoring case (as Go's encoding/json); unknown fields are ignored, as Milvus does")
    }

    static var outputFields: Object { array(string()) }
    static var vector: Object { array(number) }
    static var primaryKey: Object { ["oneOf": [integer(), string()]] }
    static var rows: Object { array(["type": "object"]) }
    static var hits: Object { array(object(["distance": ["type": "number", "nullable": true]])) }

    static var milvusRoutes: [(String, String, Object, Object)] {
        let fieldSchema = object([
            "fieldName": string(minLength: 1),
            "dataType": string("Milvus' data type name (case-sensitive): Int64, VarChar, FloatVector, Float16Vector, Bool, Int8..Int32, Float, Double, JSON"),
            "isPrimary": boolean, "nullable": boolean, "defaultValue": anyValue,
            "elementTypeParams": object(["dim": ["oneOf": [integer(minimum: 1), string()]], "max_length": ["oneOf": [integer(minimum: 1), string()]]]),
        ], required: ["fieldName", "dataType"])
        let indexParam = object([
            "fieldName": string(minLength: 1), "indexName": string(), "metricType": string(enum: ["COSINE", "IP", "L2"]),
            "indexType": string("AUTOINDEX, FLAT, HNSW, IVF_FLAT, IVF_SQ8 (scalar index types are accepted and not built)"),
            "params": object([:], description: "index build parameters (numbers): M, efConstruction, nlist; or index_type"),
        ], required: ["fieldName"])
        let create = milvusRequest([
            "collectionName": collectionName, "description": string(),
            "dimension": integer("quick setup: the vector dimension", minimum: 1),
            "metricType": string(enum: ["COSINE", "IP", "L2"]), "idType": string(enum: ["Int64", "VarChar"]), "autoID": boolean,
            "primaryFieldName": string(), "vectorFieldName": string(),
            "params": object(["consistencyLevel": string(enum: MilvusSchema.consistencyLevels),
                              "enableDynamicField": ["oneOf": [boolean, string()]]]),
            "schema": object(["autoID": boolean, "enableDynamicField": boolean, "fields": array(fieldSchema)]),
            "indexParams": array(indexParam),
        ])
        let searchParams = object(["metricType": string(enum: ["COSINE", "IP", "L2"]),
                                   "params": object(["ef": number, "nprobe": number, "radius": number, "range_filter": number])])
        let limit = integer(minimum: 1, maximum: MilvusController.maxTopK)
        let offset = integer(minimum: 0, maximum: MilvusController.maxTopK - 1)
        let search = milvusRequest([
            "collectionName": collectionName, "data": array(vector), "annsField": string(), "limit": limit, "offset": offset,
            "filter": string(), "outputFields": outputFields, "searchParams": searchParams,
            "groupingField": string(), "groupSize": integer(minimum: 1),
        ], required: ["collectionName", "data"])
        let subSearch = object(["data": array(["oneOf": [vector, string()]], minItems: 1), "annsField": string(), "limit": limit,
                                "filter": string(), "params": object([:])], required: ["data"])
        let hybrid = milvusRequest([
            "collectionName": collectionName, "search": array(subSearch, minItems: 1), "limit": limit, "offset": offset,
            "outputFields": outputFields,
            "rerank": object(["strategy": string(enum: ["rrf", "weighted"]),
                              "params": object(["k": number, "weights": array(number), "norm_score": boolean])]),
        ], required: ["collectionName", "search"])
        let writeCounts = { (word: String) in
            object(["\(word)Count": integer(), "\(word)Ids": array(primaryKey)], required: ["\(word)Count", "\(word)Ids"])
        }
        return [
            ("collections/create", "Create a collection (quick setup with `dimension`, or a custom `schema` and `indexParams`)",
             create, object([:])),
            ("collections/describe", "Describe a collection: fields, indexes, load state", milvusRequest(["collectionName": collectionName]),
             object(["collectionName": string(), "fields": array(["type": "object"]), "indexes": array(["type": "object"])],
                    required: ["collectionName", "fields"])),
            ("collections/list", "List the collections", milvusRequest([:], required: []), array(string())),
            ("collections/has", "Whether a collection exists", milvusRequest(["collectionName": collectionName]),
             object(["has": boolean], required: ["has"])),
            ("collections/drop", "Drop a collection (succeeds when it does not exist)", milvusRequest(["collectionName": collectionName]),
             object([:])),
            ("entities/insert", "Insert entities (rows: primary key unless autoID, every vector field, scalar and dynamic fields)",
             milvusRequest(["collectionName": collectionName, "data": array(["type": "object"])], required: ["collectionName", "data"]),
             writeCounts("insert")),
            ("entities/upsert", "Insert or replace entities by primary key",
             milvusRequest(["collectionName": collectionName, "data": array(["type": "object"])], required: ["collectionName", "data"]),
             writeCounts("upsert")),
            ("entities/delete", "Delete the entities a filter selects",
             milvusRequest(["collectionName": collectionName, "filter": string(minLength: 1)], required: ["collectionName", "filter"]),
             object(["deleteCount": integer()], required: ["deleteCount"])),
            ("entities/get", "Get entities by primary key",
             milvusRequest(["collectionName": collectionName, "id": ["oneOf": [primaryKey, array(primaryKey)]], "outputFields": outputFields],
                           required: ["collectionName", "id"]),
             rows),
            ("entities/query", "Query entities by filter (`outputFields: [\"count(*)\"]` counts)",
             milvusRequest(["collectionName": collectionName, "filter": string(), "outputFields": outputFields,
                            "limit": integer(minimum: 0, maximum: MilvusController.maxTopK), "offset": offset]),
             rows),
            ("entities/search", "Vector search (one hit list per query vector, flattened, with `topks`)", search, hits),
            ("entities/hybrid_search", "Hybrid search: vector and full-text sub-searches fused by RRF or weights", hybrid, hits),
        ]
    }

    // MARK: component schemas

    static var schemas: [String: Object] {
        let errorObject = object([
            "message": string("what went wrong and how to fix it", minLength: 1),
            "type": string("invalid_request_error, authentication_error, server_error"),
            "param": ["type": "string", "nullable": true], "code": ["type": "string", "nullable": true],
        ], required: ["message", "type"])
        return [
            "Error": object(["error": errorObject], required: ["error"]),
            "MilvusError": object(["code": ["type": "integer", "not": ["enum": [0]]], "message": string(minLength: 1)],
                                  required: ["code", "message"]),
            "Health": object(["status": string(enum: ["ok"]), "version": string(), "models_loaded": array(string()),
                              "store_path": string(), "model_home": string(), "uptime_seconds": number],
                             required: ["status", "version", "models_loaded"]),
            "EmbeddingsRequest": object([
                "input": ["oneOf": [string(), array(string(), minItems: 1)], "description": "a text or up to --max-inputs texts (default 2048)"],
                "model": string("catalog name, hub id or model folder, e.g. all-MiniLM-L6-v2", minLength: 1),
                "encoding_format": string(enum: ["float", "base64"]),
                "dimensions": integer("accepted only when equal to the model's width", minimum: 1),
                "user": string("ignored"),
                "input_type": string("query, passage, document, search_query, search_document, classification, clustering"),
                "prompt_name": string("one of the model's prompts", minLength: 1),
            ], required: ["input", "model"], closed: true),
            "EmbeddingsResponse": object([
                "object": string(enum: ["list"]),
                "data": array(object(["object": string(enum: ["embedding"]), "index": integer(minimum: 0),
                                      "embedding": ["oneOf": [array(["type": "number", "nullable": true]), string("base64 of little-endian float32")]]],
                                     required: ["object", "index", "embedding"])),
                "model": string(),
                "usage": object(["prompt_tokens": integer(minimum: 0), "total_tokens": integer(minimum: 0)], required: ["prompt_tokens", "total_tokens"]),
            ], required: ["object", "data", "model", "usage"]),
            "RerankRequest": object([
                "model": string("a cross-encoder: catalog name, hub id or folder", minLength: 1),
                "query": string(),
                "documents": array(["oneOf": [string(), object(["text": string()], required: ["text"])]]),
                "top_n": integer(minimum: 1), "return_documents": boolean,
                "max_chunks_per_doc": anyValue, "rank_fields": anyValue,
            ], required: ["model", "query", "documents"], closed: true),
            "RerankResponse": object([
                "model": string(),
                "results": array(object(["index": integer(minimum: 0), "relevance_score": ["type": "number", "nullable": true],
                                         "document": object(["text": string()], required: ["text"])], required: ["index", "relevance_score"])),
                "usage": object(["total_tokens": integer(minimum: 0)], required: ["total_tokens"]),
            ], required: ["model", "results", "usage"]),
            "Collections": object([
                "store": string(), "default_base": string(), "bases": array(string()),
                "collections": array(object(["name": string(), "count": integer(minimum: 0), "base": string(), "modality": string(),
                                             "model": string(), "dimension": integer(), "metric": string(), "indexes": array(string())],
                                            required: ["name", "count", "indexes"])),
            ], required: ["store", "default_base", "bases", "collections"]),
            "WebSearchRequest": object([
                "text": string("what to search for (not blank)", minLength: 1),
                "limit": integer(minimum: 1, maximum: WebController.maxLimit),
                "modality": ["oneOf": [string(), array(string())], "description": "text, image, audio, video (default: all)"],
                "filter": string(), "collection": string("the collection base name"),
                "mode": string("dense, bm25, hybrid or auto (case-insensitive)"),
            ], required: ["text"], closed: true),
            "WebSearchResponse": object([
                "results": array(object(["score": ["type": "number", "nullable": true], "id": string(), "collection": string(),
                                         "name": string(), "media": string()], required: ["score", "id", "collection", "name", "media"])),
                "searched": array(string()), "notes": array(string()), "took_ms": number,
            ], required: ["results", "searched", "notes", "took_ms"]),
        ]
    }
}

/// `GET /openapi.json` (public, like the page: it holds no data).
struct OpenAPIController: Sendable {
    let version: String

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let text = OpenAPIDocument.json(version: version)
        router.get("/openapi.json") { _, _ in JSONText.response(text) }
    }
}
