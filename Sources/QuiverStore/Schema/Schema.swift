import Foundation

/// A primary key value: int64 or string.
///
/// Ordering (`Comparable`): every `.int` sorts before every `.string`; ints numerically,
/// strings by Swift `String` order.
public enum PrimaryKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// A key of an `Int64` primary key field.
    case int(Int64)
    /// A key of a `VarChar` primary key field (never empty).
    case string(String)

    /// The key as written: the decimal integer or the string itself, without quotes.
    public var description: String {
        switch self { case let .int(i): return String(i); case let .string(s): return s }
    }
    /// As a field value (for output and filters).
    public var fieldValue: FieldValue {
        switch self { case let .int(i): return .int(i); case let .string(s): return .string(s) }
    }
}

/// Types of a primary key; the raw values are Milvus' data type names.
public enum PrimaryKeyType: String, Sendable, Codable {
    /// 64-bit integer keys (``PrimaryKey/int(_:)``); the only type that allows automatic ids.
    case int64 = "Int64"
    /// Non-empty string keys (``PrimaryKey/string(_:)``).
    case string = "VarChar"
}

/// Types of scalar fields; the raw values are Milvus' data type names.
public enum ScalarType: String, Sendable, Codable, CaseIterable {
    /// 64-bit integers (``FieldValue/int(_:)``).
    case int64 = "Int64"
    /// Doubles (``FieldValue/double(_:)``; integers given on insert are converted).
    case double = "Double"
    /// Booleans (``FieldValue/bool(_:)``).
    case bool = "Bool"
    /// UTF-8 strings (``FieldValue/string(_:)``), optionally limited by ``ScalarField/maxLength``.
    case string = "VarChar"
    /// Any JSON value (``FieldValue/json(_:)``); filters reach inside with `field["key"][0]`.
    case json = "JSON"
}

/// How a vector field stores its values on disk.
public enum VectorElementType: String, Sendable, Codable {
    /// 4 bytes per value.
    case float32 = "FloatVector"
    /// 2 bytes per value on disk (IEEE half); values are rounded to half precision on insert and
    /// held as float32 in memory. Magnitudes must stay within ±65504.
    case float16 = "Float16Vector"
}

/// The embedding model that fills a vector field: every vector inserted into or searched against
/// the field must come from this model (same id, same dimension).
public struct EmbeddingModel: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Model id, e.g. `all-MiniLM-L6-v2`; `none` (or any user-given name) for raw vectors.
    public var id: String
    /// Output width.
    public var dimension: Int
    /// True when the model's vectors are L2-normalized.
    public var normalized: Bool

    /// Describes a model; nothing is loaded or checked here.
    /// - Parameters:
    ///   - id: the model id vectors are matched by (e.g. `all-MiniLM-L6-v2`).
    ///   - dimension: the number of floats per vector the model makes.
    ///   - normalized: whether its vectors have unit L2 norm (informational: the store does not
    ///     normalize or check vectors because of it).
    public init(id: String, dimension: Int, normalized: Bool = false) {
        self.id = id; self.dimension = dimension; self.normalized = normalized
    }
    /// Raw vectors brought by the user (model id `none`).
    public static func raw(dimension: Int) -> EmbeddingModel { EmbeddingModel(id: "none", dimension: dimension) }
    /// `id (N-d)`, e.g. `all-MiniLM-L6-v2 (384-d)`.
    public var description: String { "\(id) (\(dimension)-d)" }
}

/// The primary key field: every entity has exactly one key, unique within the collection.
public struct PrimaryKeyField: Sendable, Hashable, Codable {
    /// The field's name (default `id`); filters use it like any other field, results carry
    /// the key as `id` (``Row/id``, ``SearchHit/id``).
    public var name: String
    /// Whether keys are integers or strings.
    public var type: PrimaryKeyType
    /// When true, ids are int64 values assigned by the store (inserts must not give them).
    ///
    /// Assigned ids count up from 1 in insertion order and are never reused (the counter is
    /// saved in the manifest and recovered from the WAL). ``Collection/upsert(_:models:)``
    /// still needs the id of each entity it replaces.
    public var autoID: Bool
    /// A primary key field; ``CollectionSchema/validate(collection:)`` rejects `autoID` with a
    /// string key.
    /// - Parameters:
    ///   - name: field name (ASCII letters, digits, `_`, `-`; 1 to 255 characters).
    ///   - type: `.int64` or `.string`.
    ///   - autoID: whether the store assigns int64 ids on insert.
    public init(name: String = "id", type: PrimaryKeyType = .int64, autoID: Bool = false) {
        self.name = name; self.type = type; self.autoID = autoID
    }
}

/// A vector field: `dimension` float32 values per entity compared with `metric`, filled by `model`.
public struct VectorField: Sendable, Hashable, Codable {
    /// The field's name (ASCII letters, digits, `_`, `-`; 1 to 255 characters).
    public var name: String
    /// Floats per vector, 1...32768; must equal `model.dimension`.
    public var dimension: Int
    /// How searches compare vectors and what ``SearchHit/score`` means (see ``Metric``).
    public var metric: Metric
    /// On-disk element type: `.float32` (exact) or `.float16` (half the bytes, values rounded).
    public var storage: VectorElementType
    /// The model every vector of this field comes from; inserts and searches that name another
    /// model fail with ``StoreError/modelMismatch(collection:field:expectedModel:expectedDimension:gotModel:gotDimension:)``.
    public var model: EmbeddingModel
    /// A vector field.
    /// - Parameters:
    ///   - name: field name.
    ///   - dimension: floats per vector (1...32768).
    ///   - metric: comparison used by search and indexes; default cosine similarity.
    ///   - storage: element type on disk; default float32.
    ///   - model: the model that makes the vectors; nil binds the field to raw vectors
    ///     (``EmbeddingModel/raw(dimension:)``, id `none`).
    public init(name: String, dimension: Int, metric: Metric = .cosine, storage: VectorElementType = .float32, model: EmbeddingModel? = nil) {
        self.name = name; self.dimension = dimension; self.metric = metric; self.storage = storage
        self.model = model ?? .raw(dimension: dimension)
    }
}

/// A declared scalar field.
public struct ScalarField: Sendable, Hashable, Codable {
    /// The field's name (ASCII letters, digits, `_`, `-`; 1 to 255 characters).
    public var name: String
    /// The type every non-null value must have.
    public var type: ScalarType
    /// Nullable fields may be absent on insert (stored as `.null`, or `defaultValue` when set).
    public var nullable: Bool
    /// The value stored when an insert leaves the field out or gives `.null` (also for a field
    /// that is not nullable); must fit `type`.
    public var defaultValue: FieldValue?
    /// Maximum length in UTF-8 bytes for strings (nil: unlimited).
    public var maxLength: Int?
    /// A scalar field.
    /// - Parameters:
    ///   - name: field name.
    ///   - type: value type.
    ///   - nullable: whether inserts may leave it out (stored as `.null` without a default).
    ///   - defaultValue: value used when an insert leaves it out.
    ///   - maxLength: byte limit of strings (at least 1), nil for none.
    public init(name: String, type: ScalarType, nullable: Bool = false, defaultValue: FieldValue? = nil, maxLength: Int? = nil) {
        self.name = name; self.type = type; self.nullable = nullable; self.defaultValue = defaultValue; self.maxLength = maxLength
    }
}

/// A collection's schema.
///
/// Fixed when the collection is created (stored in its manifest); field names must be distinct
/// across the primary key, vector and scalar fields, and `$meta` is reserved.
public struct CollectionSchema: Sendable, Hashable, Codable {
    /// The primary key field.
    public var primaryKey: PrimaryKeyField
    /// One or more vector fields; every entity gives a vector for each.
    public var vectorFields: [VectorField]
    /// Declared scalar fields, in the order their columns are stored.
    public var scalarFields: [ScalarField]
    /// When true, undeclared fields given on insert are kept (the dynamic field) and can be
    /// filtered on and output by name; when false they are an error.
    public var enableDynamicField: Bool
    /// Free text describing the collection (stored, not interpreted).
    public var description: String

    /// A schema; call ``validate(collection:)`` to check it (``VectorStore/createCollection(_:schema:)`` does).
    /// - Parameters:
    ///   - primaryKey: the key field; default an int64 field `id` given by the caller.
    ///   - vectorFields: at least one vector field.
    ///   - scalarFields: declared scalar fields.
    ///   - enableDynamicField: keep undeclared fields (default true, as Milvus' quick setup).
    ///   - description: free text.
    public init(primaryKey: PrimaryKeyField = PrimaryKeyField(), vectorFields: [VectorField], scalarFields: [ScalarField] = [],
                enableDynamicField: Bool = true, description: String = "") {
        self.primaryKey = primaryKey; self.vectorFields = vectorFields; self.scalarFields = scalarFields
        self.enableDynamicField = enableDynamicField; self.description = description
    }

    /// A schema with one vector field `vector`, an int64 primary key `id` given by the caller
    /// (not automatic, as in Milvus' quick setup with its default `auto_id=False`) and the
    /// dynamic field on.
    /// - Parameters:
    ///   - dimension: floats per vector.
    ///   - metric: comparison; default cosine.
    ///   - model: the model bound to `vector`; nil for raw vectors.
    public static func quick(dimension: Int, metric: Metric = .cosine, model: EmbeddingModel? = nil) -> CollectionSchema {
        CollectionSchema(primaryKey: PrimaryKeyField(name: "id", type: .int64, autoID: false),
                         vectorFields: [VectorField(name: "vector", dimension: dimension, metric: metric, model: model)])
    }

    /// The field names reserved by the store.
    static let reserved: Set<String> = ["$meta"]

    /// Checks names, dimensions and model bindings.
    /// - Parameter collection: the collection name, checked too and named in errors.
    /// - Throws: ``StoreError/invalidSchema(collection:reason:)`` naming the field at fault;
    ///   ``StoreError/invalidRequest(_:)`` when the collection name itself is invalid.
    public func validate(collection: String) throws {
        func bad(_ r: String) -> StoreError { .invalidSchema(collection: collection, reason: r) }
        try Self.validateName(collection, what: "collection name")
        var names = Set<String>()
        func add(_ n: String) throws {
            do { try Self.validateName(n, what: "field name") } catch let StoreError.invalidRequest(r) { throw bad(r) }
            guard !Self.reserved.contains(n) else { throw bad("field name '\(n)' is reserved") }
            guard names.insert(n).inserted else { throw bad("field '\(n)' is declared twice") }
        }
        try add(primaryKey.name)
        if primaryKey.autoID && primaryKey.type != .int64 {
            throw bad("primary key '\(primaryKey.name)' has autoID but type \(primaryKey.type.rawValue); automatic ids are Int64")
        }
        guard !vectorFields.isEmpty else { throw bad("a collection needs at least one vector field") }
        for v in vectorFields {
            try add(v.name)
            guard v.dimension >= 1, v.dimension <= 32768 else {
                throw bad("vector field '\(v.name)' has dimension \(v.dimension); it must be in 1...32768")
            }
            guard !v.model.id.isEmpty else { throw bad("vector field '\(v.name)' has an empty model id; use 'none' for raw vectors") }
            guard v.model.dimension == v.dimension else {
                throw bad("vector field '\(v.name)' is \(v.dimension)-d but is bound to model \(v.model.id) which makes \(v.model.dimension)-d vectors")
            }
        }
        for s in scalarFields {
            try add(s.name)
            if let d = s.defaultValue, !Self.value(d, fits: s.type) {
                throw bad("scalar field '\(s.name)' of type \(s.type.rawValue) has a default value \(d) of another type")
            }
            if let m = s.maxLength, m < 1 { throw bad("scalar field '\(s.name)' has maxLength \(m); it must be at least 1") }
        }
    }

    static func validateName(_ n: String, what: String) throws {
        guard !n.isEmpty, n.utf8.count <= 255 else { throw StoreError.invalidRequest("\(what) '\(n)' must be 1 to 255 characters") }
        let ok = n.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "_" || $0 == "-" }
        guard ok, n.first != "-" else {
            throw StoreError.invalidRequest("\(what) '\(n)' may only hold ASCII letters, digits, '_' and '-' (not first)")
        }
    }

    /// True when `v` may be stored in a field of type `t` (null is checked separately).
    static func value(_ v: FieldValue, fits t: ScalarType) -> Bool {
        switch (v, t) {
        case (.int, .int64), (.double, .double), (.int, .double), (.bool, .bool), (.string, .string), (_, .json): return true
        default: return false
        }
    }

    func vectorField(named n: String) -> VectorField? { vectorFields.first { $0.name == n } }
    func scalarField(named n: String) -> ScalarField? { scalarFields.first { $0.name == n } }
}

/// One entity to insert or upsert.
public struct Entity: Sendable, Hashable {
    /// The primary key; nil when the collection assigns ids (autoID).
    public var id: PrimaryKey?
    /// Vector field name → values (`dimension` floats).
    public var vectors: [String: [Float]]
    /// Scalar field name → value; names not in the schema go to the dynamic field.
    public var fields: [String: FieldValue]

    /// An entity.
    /// - Parameters:
    ///   - id: the primary key; nil with automatic ids, or when `fields` holds it under the key field's name.
    ///   - vectors: one vector per vector field of the schema.
    ///   - fields: scalar and dynamic field values.
    public init(id: PrimaryKey? = nil, vectors: [String: [Float]], fields: [String: FieldValue] = [:]) {
        self.id = id; self.vectors = vectors; self.fields = fields
    }
    /// An entity of a collection with a single vector field.
    public init(id: PrimaryKey?, vector: [Float], field: String = "vector", fields: [String: FieldValue] = [:]) {
        self.init(id: id, vectors: [field: vector], fields: fields)
    }
}

/// An entity as read back: its id, the requested scalar/dynamic fields, and requested vectors.
public struct Row: Sendable, Hashable {
    /// The primary key (always present, whatever the output fields).
    public var id: PrimaryKey
    /// Requested scalar and dynamic fields by name; nullable fields read `.null`, dynamic fields
    /// the entity does not have are absent.
    public var fields: [String: FieldValue]
    /// Requested vector fields by name, `dimension` floats each (float16 fields as stored,
    /// widened to float32).
    public var vectors: [String: [Float]]
    /// A row (mostly for tests; the store builds rows itself).
    public init(id: PrimaryKey, fields: [String: FieldValue] = [:], vectors: [String: [Float]] = [:]) {
        self.id = id; self.fields = fields; self.vectors = vectors
    }
}

/// One search result.
public struct SearchHit: Sendable, Hashable {
    /// The primary key of the entity found.
    public var id: PrimaryKey
    /// Similarity for COSINE/IP (higher is closer), squared L2 distance for L2 (lower is closer).
    ///
    /// COSINE is the cosine of the angle (query and stored vector both normalized; -1...1), IP
    /// the plain dot product, L2 the sum of squared differences (no square root), as Milvus.
    public var score: Float
    /// Requested scalar and dynamic output fields by name (see ``SearchRequest/outputFields``).
    public var fields: [String: FieldValue]
    /// Requested vector fields by name, `dimension` floats each.
    public var vectors: [String: [Float]]
    /// A hit (backends other than the embedded store build them from their server's answer).
    public init(id: PrimaryKey, score: Float, fields: [String: FieldValue] = [:], vectors: [String: [Float]] = [:]) {
        self.id = id; self.score = score; self.fields = fields; self.vectors = vectors
    }
}

/// Description of a collection, as `describe` returns it.
public struct CollectionInfo: Sendable, Hashable {
    /// The collection name.
    public var name: String
    /// Its schema.
    public var schema: CollectionSchema
    /// Live (not deleted) entities at the time of the call.
    public var count: Int
    /// One entry per indexed vector field, sorted by field name.
    public var indexes: [IndexInfo]
    /// Sealed segment files (growing, not yet flushed rows are not counted); 0 where a backend
    /// does not report segments.
    public var segments: Int
    /// A description (backends other than the embedded store build it from their server's answer).
    public init(name: String, schema: CollectionSchema, count: Int, indexes: [IndexInfo], segments: Int = 0) {
        self.name = name; self.schema = schema; self.count = count; self.indexes = indexes; self.segments = segments
    }
}

/// An index on a vector field.
public struct IndexInfo: Sendable, Hashable, Codable {
    /// The vector field it indexes.
    public var field: String
    /// The index type.
    public var kind: IndexKind
    /// Build parameters as given (defaults are not filled in): HNSW `M` (2...128, default 16)
    /// and `efConstruction` (1...4096, default 200); IVF `nlist` (1...65536, default 128);
    /// IVF_SQ8 also `rerank` (0...64, default 0). All integers.
    public var params: [String: Double]
    /// An index description.
    /// - Parameters:
    ///   - field: the vector field.
    ///   - kind: the index type.
    ///   - params: build parameters (see ``params``).
    public init(field: String, kind: IndexKind, params: [String: Double] = [:]) {
        self.field = field; self.kind = kind; self.params = params
    }
}
