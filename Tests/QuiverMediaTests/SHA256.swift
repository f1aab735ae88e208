import Foundation
import QuiverHub

/// SHA-256 hex digests of decoded pixels and tensors, to compare with the hashes that
/// scripts/fixtures/make_media_fixtures.py recorded (QuiverHub's hasher: Foundation on Linux has
/// no digest API).
enum SHA256 {
    static func hex(_ bytes: [UInt8]) -> String {
        var h = SHA256Hasher()
        bytes.withUnsafeBytes { h.update($0) }
        return h.finalize()
    }

    /// The digest of the floats' little-endian float32 bytes.
    static func hex(_ floats: [Float]) -> String {
        var h = SHA256Hasher()
        floats.withUnsafeBytes { h.update($0) }
        return h.finalize()
    }
}
