import Foundation

/// A primary key value: int64 or string.
public enum PrimaryKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    case int(Int64)
    case string(String)

    public var description: String {
        switch self { case let .int(i): return String(i); case let .string(s): return s }
    }
    /// As a field value (for output and filters).
    public var fieldValue: FieldValue {
        switch self { case let .int(i): return .int(i); case let .string(s): return .string(s) }
    }
}

/// Types of a primary key.
public enum PrimaryKeyType: String, Sendable, Codable { case int64 = "Int64", string = "VarChar" }

/// Types of scalar fields.
public enum ScalarType: String, Sendable, Codable, CaseIterable {
    case int64 = "Int64", double = "Double", bool = "Bool", string = "VarChar", json = "JSON"
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

    public init(id: String, dimension: Int, normalized: Bool = false) {
        self.id = id; self.dimension = dimension; self.normalized = normalized
    }
    /// Raw vectors brought by the user (model id `none`).
    public static func raw(dimension: Int) -> EmbeddingModel { EmbeddingModel(id: "none", dimension: dimension) }
    public var description: String { "\(id) (\(dimension)-d)" }
}

/// The primary key field.
public struct PrimaryKeyField: Sendable, Hashable, Codable {
    public var name: String
    public var type: PrimaryKeyType
    /// When true, ids are int64 values assigned by the store (inserts must not give them).
    public var autoID: Bool
    public init(name: String = "id", type: PrimaryKeyType = .int64, autoID: Bool = false) {
        self.name = name; self.type = type; self.autoID = autoID
    }
}

/// A vector field: `dimension` float32 values per entity compared with `metric`, filled by `model`.
public struct VectorField: Sendable, Hashable, Codable {
    public var name: String
    public var dimension: Int
    public var metric: Metric
    public var storage: VectorElementType
    public var model: EmbeddingModel
    public init(name: String, dimension: Int, metric: Metric = .cosine, storage: VectorElementType = .float32, model: EmbeddingModel? = nil) {
        self.name = name; self.dimension = dimension; self.metric = metric; self.storage = storage
        self.model = model ?? .raw(dimension: dimension)
    }
}

/// A declared scalar field.
public struct ScalarField: Sendable, Hashable, Codable {
    public var name: String
    public var type: ScalarType
    /// Nullable fields may be absent on insert (stored as `.null`, or `defaultValue` when set).
    public var nullable: Bool
    public var defaultValue: FieldValue?
    /// Maximum length in UTF-8 bytes for strings (nil: unlimited).
    public var maxLength: Int?
    public init(name: String, type: ScalarType, nullable: Bool = false, defaultValue: FieldValue? = nil, maxLength: Int? = nil) {
        self.name = name; self.type = type; self.nullable = nullable; self.defaultValue = defaultValue; self.maxLength = maxLength
    }
}

/// A collection's schema.
public struct CollectionSchema: Sendable, Hashable, Codable {
    public var primaryKey: PrimaryKeyField
    public var vectorFields: [VectorField]
    public var scalarFields: [ScalarField]
    /// When true, undeclared fields given on insert are kept (the dynamic field) and can be
    /// filtered on and output by name; when false they are an error.
    public var enableDynamicField: Bool
    public var description: String

    public init(primaryKey: PrimaryKeyField = PrimaryKeyField(), vectorFields: [VectorField], scalarFields: [ScalarField] = [],
                enableDynamicField: Bool = true, description: String = "") {
        self.primaryKey = primaryKey; self.vectorFields = vectorFields; self.scalarFields = scalarFields
        self.enableDynamicField = enableDynamicField; self.description = description
    }

    /// A schema with one vector field `vector` and an automatic int64 id, like Milvus' quick setup.
    public static func quick(dimension: Int, metric: Metric = .cosine, model: EmbeddingModel? = nil) -> CollectionSchema {
        CollectionSchema(primaryKey: PrimaryKeyField(name: "id", type: .int64, autoID: false),
                         vectorFields: [VectorField(name: "vector", dimension: dimension, metric: metric, model: model)])
    }

    /// The field names reserved by the store.
    static let reserved: Set<String> = ["$meta"]

    /// Checks names, dimensions and model bindings; throws `StoreError.invalidSchema` naming the field.
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
    public var id: PrimaryKey
    public var fields: [String: FieldValue]
    public var vectors: [String: [Float]]
    public init(id: PrimaryKey, fields: [String: FieldValue] = [:], vectors: [String: [Float]] = [:]) {
        self.id = id; self.fields = fields; self.vectors = vectors
    }
}

/// One search result.
public struct SearchHit: Sendable, Hashable {
    public var id: PrimaryKey
    /// Similarity for COSINE/IP (higher is closer), squared L2 distance for L2 (lower is closer).
    public var score: Float
    /// Requested output fields (scalar, dynamic and vector fields as `.json` arrays are not used:
    /// vectors are in `vectors`).
    public var fields: [String: FieldValue]
    public var vectors: [String: [Float]]
}

/// Description of a collection, as `describe` returns it.
public struct CollectionInfo: Sendable, Hashable {
    public var name: String
    public var schema: CollectionSchema
    public var count: Int
    public var indexes: [IndexInfo]
    public var segments: Int
}

/// An index on a vector field.
public struct IndexInfo: Sendable, Hashable, Codable {
    public var field: String
    public var kind: IndexKind
    public var params: [String: Double]
    public init(field: String, kind: IndexKind, params: [String: Double] = [:]) {
        self.field = field; self.kind = kind; self.params = params
    }
}
