import Foundation

/// A PyTorch checkpoint in the zip format `torch.save` writes since PyTorch 1.6 (torch hub's
/// ResNet-50 is one). Layout: a ZIP archive (entries stored, not compressed) holding
/// `<name>/data.pkl` — the pickled state dict, whose tensors reference storages by key through
/// persistent ids — and `<name>/data/<key>`, each storage's raw little-endian bytes.
///
/// Deflated entries (an archive re-compressed by another tool) are inflated on access.
/// The pickle is run by a restricted machine (`PickleMachine`): whitelisted globals only, no code
/// is executed. Float32 contiguous tensors are used in place from the mapping; other types and
/// strided views are converted to row-major float32 on access.
public struct PyTorchZipFile: WeightSource {
    /// The checkpoint file, as given to ``init(path:)``; used in error messages.
    public let path: String
    /// Name, shape and element type of every tensor of the state dict, sorted by name.
    public var infos: [WeightInfo] { table.infos }
    /// The archive's top folder (`archive`, or the file's stem for older writers).
    public let archiveName: String
    private let table: TorchTensorTable

    /// Opens `path` and validates the archive, the pickle and every tensor's view; no tensor data is read.
    /// - Throws: `WeightsError` naming the file and the problem.
    public init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        let zip = try ZipArchive(file: file)
        guard let pkl = zip.order.first(where: { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }) else {
            throw WeightsError.malformed(path: path, reason: "ZIP archive has no '<name>/data.pkl' entry; it is not a PyTorch checkpoint")
        }
        let prefix = String(pkl.dropLast("data.pkl".count))
        archiveName = String(prefix.dropLast())
        if let e = zip.entries[prefix + "byteorder"] {
            let c = try zip.contents(e)
            let order = String(decoding: try c.file.bytes(c.offset, c.length), as: UTF8.self)
            guard order == "little" else {
                throw WeightsError.malformed(path: path, reason: "checkpoint byte order is '\(order.prefix(16))'; only little-endian checkpoints are supported")
            }
        }
        guard let pklEntry = zip.entries[pkl] else { throw WeightsError.malformed(path: path, reason: "ZIP archive has no entry '\(pkl)'") }
        let pickle = try zip.contents(pklEntry)
        var reader = ByteReader(path: path, bytes: try pickle.file.bytes(pickle.offset, pickle.length), fileOffset: pickle.offset)
        var machine = PickleMachine(path: path, what: "\(pkl)")
        let root = try machine.run(&reader) { m, pid, at in try m.torchStorage(pid, at: at) }
        let tensors = try machine.stateDict(root, at: reader.offset)
        table = try TorchTensorTable(path: path, file: file, zip: zip, machine: machine, tensors: tensors) { s in
            guard let entry = zip.entries[prefix + "data/" + s.key] else {
                throw WeightsError.malformed(path: path, reason: "storage '\(s.key)' has no entry '\(prefix)data/\(s.key)' in the archive")
            }
            let (need, o) = s.count.multipliedReportingOverflow(by: s.dtype.byteSize)
            guard !o, need <= entry.size else {
                throw WeightsError.malformed(path: path, reason: "storage '\(s.key)' declares \(s.count) \(s.dtype.rawValue) elements, its entry has \(entry.size) bytes")
            }
            if entry.method == 8 {
                _ = try zip.inflate(entry)  // validated now (bounded size, CRC); inflated again on access
                return (0, need, entry)
            }
            let bytes = try zip.data(entry)
            return (bytes.baseAddress.map { $0 - file.base! } ?? 0, need, nil)
        }
    }

    /// Name, shape and element type of the tensor `name` (a state dict key such as `layer1.0.conv1.weight`), or nil if absent.
    public func info(_ name: String) -> WeightInfo? { table.entries[name]?.info }

    /// The tensor `name` as row-major float32: mapped in place when it is contiguous float32 in a stored entry, else
    /// converted (strided views gathered, deflated entries inflated) into a new buffer.
    /// - Throws: `WeightsError.missingTensor` (with similar names) when there is no such tensor; `.malformed` when its
    ///   storage lies outside the file or does not inflate.
    public func tensor(_ name: String) throws -> WeightTensor { try table.tensor(name) }
}
