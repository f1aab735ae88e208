import CQuiverKernels

/// CRC-32C (Castagnoli), as used by the WAL, segments, manifests and index files: the
/// hardware-accelerated `qk_crc32c` of CQuiverKernels (table-driven on CPUs without SSE4.2).
public enum CRC32C {
    /// Extends `crc` (0 to start) over `buffer`.
    public static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        guard let p = buffer.baseAddress, buffer.count > 0 else { return crc }
        return qk_crc32c(crc, p, buffer.count)
    }

    /// The checksum of `buffer`.
    public static func checksum(_ buffer: UnsafeRawBufferPointer) -> UInt32 { update(0, buffer) }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { checksum($0) } }
}
