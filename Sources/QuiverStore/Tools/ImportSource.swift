import Foundation

/// The lines of a memory-mapped text file, read in order (nothing is copied but the line asked
/// for): ids and metadata files of any size without holding them in memory.
struct MappedLines {
    private let region: MappedRegion
    private var offset = 0
    /// 1-based number of the line `next()` returned last.
    private(set) var lineNumber = 0

    init(path: String, what: String) throws {
        do { region = try MappedRegion(path: path) } catch {
            throw StoreError.invalidRequest("cannot read \(what) file \(path): \(errnoText())")
        }
    }

    /// The next line without its `\n` (and `\r`), or nil at the end; a last line without `\n` counts.
    mutating func next() -> Substring? {
        let b = region.bytes
        guard offset < b.count else { return nil }
        var end = offset
        while end < b.count && b[end] != 0x0A { end += 1 }
        var stop = end
        if stop > offset && b[stop - 1] == 0x0D { stop -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: b[offset..<stop]), as: UTF8.self)
        offset = end + 1
        lineNumber += 1
        return Substring(line)
    }
}

/// The inputs of `quiver import` read a batch at a time: the vectors from the memory-mapped NPY
/// file, ids and metadata from their memory-mapped files in step. Everything is checked before
/// the first write (a first pass over the ids and metadata files), so a bad file imports nothing;
/// memory then stays one batch whatever the file size.
struct ImportSource {
    let vectors: NPYFile
    private var ids: MappedLines?
    private let intIDs: Bool
    private var metadata: MappedLines?
    private let idsPath: String?, metadataPath: String?
    /// Rows handed out so far.
    private(set) var done = 0

    init(_ o: RawVectorTools.ImportOptions) throws {
        vectors = try NPYFile(path: o.vectorsPath)
        idsPath = o.idsPath; metadataPath = o.metadataPath
        if let p = o.idsPath {
            var lines = try MappedLines(path: p, what: "ids")
            var count = 0, allInts = true, pendingBlank: Int?
            while let line = lines.next() {
                let t = line.trimmingCharacters(in: .whitespaces)
                // A blank last line is the file's final newline; a blank line inside is an error.
                if let blank = pendingBlank { throw StoreError.invalidRequest("\(p) line \(blank) is empty") }
                if t.isEmpty { pendingBlank = lines.lineNumber; continue }
                count += 1
                if allInts && Int64(t) == nil { allInts = false }
            }
            guard count == vectors.rows else {
                throw StoreError.invalidRequest("\(p) has \(count) ids, the vectors file has \(vectors.rows) rows")
            }
            intIDs = allInts
            ids = try MappedLines(path: p, what: "ids")
        } else {
            intIDs = true
        }
        if let p = o.metadataPath {
            var lines = try MappedLines(path: p, what: "metadata")
            var count = 0
            while let line = lines.next() {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                _ = try Self.object(line, path: p, line: lines.lineNumber)
                count += 1
            }
            guard count == vectors.rows else {
                throw StoreError.invalidRequest("\(p) has \(count) rows, the vectors file has \(vectors.rows)")
            }
            metadata = try MappedLines(path: p, what: "metadata")
        }
    }

    /// The type of the primary keys (int64 when every id is an integer or ids are row numbers).
    var keyType: PrimaryKeyType { intIDs ? .int64 : .string }

    static func object(_ line: Substring, path: String, line n: Int) throws -> [String: FieldValue] {
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)), case let .object(o) = v else {
            throw StoreError.invalidRequest("\(path) line \(n) is not a JSON object")
        }
        return o.mapValues { FieldValue(json: $0) }
    }

    /// The next (at most) `n` entities with their vector in `field`; empty at the end.
    mutating func next(_ n: Int, field: String) throws -> [Entity] {
        let r = done..<min(done + n, vectors.rows)
        let vs = vectors.vectors(r)
        var out: [Entity] = []
        out.reserveCapacity(r.count)
        for (k, i) in r.enumerated() {
            var id = PrimaryKey.int(Int64(i))
            if ids != nil {
                var t = ""
                while t.isEmpty, let line = ids!.next() { t = line.trimmingCharacters(in: .whitespaces) }
                id = intIDs ? .int(Int64(t)!) : .string(t)
            }
            var fields: [String: FieldValue] = [:]
            if metadata != nil {
                while let line = metadata!.next() {
                    if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                    fields = try Self.object(line, path: metadataPath ?? "", line: metadata!.lineNumber)
                    break
                }
            }
            out.append(Entity(id: id, vectors: [field: vs[k]], fields: fields))
        }
        done = r.upperBound
        return out
    }
}
