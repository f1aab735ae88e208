import Foundation

/// The tensors of a PyTorch state dict, resolved against their storages' bytes in a mapped
/// file and validated once at open: every view (offset, size, stride) lies inside its storage.
/// Shared by the zip (`PyTorchZipFile`) and legacy (`PyTorchLegacyFile`) readers.
struct TorchTensorTable: Sendable {
    struct Entry: Sendable {
        let info: WeightInfo
        /// Start of the storage's bytes in the file (or in the inflated entry), and their length.
        let storageOffset: Int
        let storageBytes: Int
        /// The ZIP entry to inflate first, for a storage that was deflated.
        let deflated: ZipArchive.Entry?
        /// Element offset and strides of the view, in elements.
        let offset: Int
        let stride: [Int]
    }

    let path: String
    let file: MappedFile
    /// The archive, to inflate deflated storages on access.
    let zip: ZipArchive?
    let entries: [String: Entry]
    let infos: [WeightInfo]

    /// - Parameters:
    ///   - storageRange: for a storage, the byte range of its root storage in the file, or in
    ///     its ZIP entry once inflated when `deflated` is set.
    init(path: String, file: MappedFile, zip: ZipArchive? = nil, machine: PickleMachine,
         tensors: [(name: String, tensor: PickleTensor)],
         storageRange: (PickleStorage) throws -> (offset: Int, length: Int, deflated: ZipArchive.Entry?)) throws {
        self.path = path; self.file = file; self.zip = zip
        func fail(_ name: String, _ reason: String) -> WeightsError { .malformed(path: path, reason: "tensor '\(name)': \(reason)") }
        var entries: [String: Entry] = [:]
        for (name, t) in tensors {
            guard t.storage >= 0, t.storage < machine.storages.count else { throw fail(name, "refers to an unknown storage") }
            let s = machine.storages[t.storage]
            let es = s.dtype.byteSize
            let range = try storageRange(s)
            // The view lives at element `viewOffset + offset` of the root storage.
            let (rootCount, _) = range.length.dividedReportingOverflow(by: es)
            guard range.length % es == 0 else { throw fail(name, "storage '\(s.key)' has \(range.length) bytes, not a multiple of \(es) (\(s.dtype.rawValue))") }
            var elements = 1, lastIndex = 0, overflow = false
            for (size, stride) in Swift.zip(t.shape, t.stride) {
                var o1 = false, o2 = false, o3 = false
                (elements, o1) = elements.multipliedReportingOverflow(by: size)
                if size > 0 {
                    let (step, oa) = (size - 1).multipliedReportingOverflow(by: stride)
                    (lastIndex, o2) = lastIndex.addingReportingOverflow(step); o3 = oa
                }
                overflow = overflow || o1 || o2 || o3
            }
            let (base, o4) = s.viewOffset.addingReportingOverflow(t.offset)
            let (end, o5) = base.addingReportingOverflow(lastIndex)
            guard !overflow, !o4, !o5 else { throw fail(name, "size \(t.shape) / stride \(t.stride) / offset \(t.offset) overflow") }
            if elements > 0 {
                guard end < rootCount else {
                    throw fail(name, "view (offset \(base), size \(t.shape), stride \(t.stride)) reaches element \(end) of storage '\(s.key)', which has \(rootCount) elements")
                }
                guard elements <= rootCount else {
                    throw fail(name, "has \(elements) elements but its storage only \(rootCount) (expanded/broadcast views are not supported)")
                }
            }
            guard entries[name] == nil else { throw fail(name, "appears twice") }
            entries[name] = Entry(info: WeightInfo(name: name, shape: t.shape, dtype: s.dtype),
                                  storageOffset: range.offset, storageBytes: range.length, deflated: range.deflated,
                                  offset: base, stride: t.stride)
        }
        self.entries = entries
        self.infos = entries.values.map(\.info).sorted { $0.name < $1.name }
    }

    func tensor(_ name: String) throws -> WeightTensor {
        guard let e = entries[name] else {
            throw WeightsError.missingTensor(path: path, tensor: name, similar: WeightNames.similar(to: name, in: infos.map(\.name)))
        }
        let dtype = e.info.dtype, es = dtype.byteSize, shape = e.info.shape
        let count = shape.reduce(1, *)
        var backing = file
        if let d = e.deflated, let zip { backing = try zip.inflate(d) }
        let raw = try backing.bytes(e.storageOffset, e.storageBytes)
        guard let rawBase = raw.baseAddress, count > 0 else {
            return WeightTensor(name: name, shape: shape, sourceDType: dtype, storage: FloatStorage(copying: []))
        }
        // C-contiguous? (dimensions of size 1 may carry any stride)
        var expected = 1, contiguous = true
        for (size, stride) in Swift.zip(shape, e.stride).reversed() {
            if size != 1 && stride != expected { contiguous = false; break }
            expected *= size
        }
        let src = rawBase + e.offset * es
        if contiguous {
            if dtype == .float32, Int(bitPattern: src) % MemoryLayout<Float>.alignment == 0 {
                return WeightTensor(name: name, shape: shape, sourceDType: dtype,
                                    storage: FloatStorage(borrowing: src.assumingMemoryBound(to: Float.self), count: count, owner: backing))
            }
            let storage = FloatStorage(count: count) { out in
                _ = FloatConversion.convert(src, dtype: dtype, count: count, into: out.baseAddress!)
            }
            return WeightTensor(name: name, shape: shape, sourceDType: dtype, storage: storage)
        }
        // Strided view: gather into row-major order, innermost dimension by innermost dimension.
        let rank = shape.count
        let storage = FloatStorage(count: count) { out in
            let dst = out.baseAddress!
            var index = [Int](repeating: 0, count: rank)
            let inner = shape[rank - 1], innerStride = e.stride[rank - 1]
            var written = 0
            while written < count {
                var element = 0
                for d in 0..<(rank - 1) { element += index[d] * e.stride[d] }
                FloatConversion.gather(src + element * es, dtype: dtype, count: inner, strideBytes: innerStride * es, into: dst + written)
                written += inner
                var d = rank - 2
                while d >= 0 {
                    index[d] += 1
                    if index[d] < shape[d] { break }
                    index[d] = 0; d -= 1
                }
            }
        }
        return WeightTensor(name: name, shape: shape, sourceDType: dtype, storage: storage)
    }
}
