import Foundation

/// Streaming SHA-256 (FIPS 180-4). Feed bytes with `update`, read the digest with `finalize`.
/// Used to verify downloads against the hub's LFS checksums and the catalog's weight checksums.
public struct SHA256Hasher: Sendable {
    private var h0: UInt32 = 0x6a09e667, h1: UInt32 = 0xbb67ae85, h2: UInt32 = 0x3c6ef372, h3: UInt32 = 0xa54ff53a
    private var h4: UInt32 = 0x510e527f, h5: UInt32 = 0x9b05688c, h6: UInt32 = 0x1f83d9ab, h7: UInt32 = 0x5be0cd19
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// A hasher with the standard initial state and no input yet.
    public init() {}

    /// Adds `data` to the message.
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update(UnsafeRawBufferPointer($0)) }
    }

    /// Adds raw bytes to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        length &+= UInt64(bytes.count)
        var offset = 0
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, bytes.count)
            buffer.append(contentsOf: bytes[0..<take])
            offset = take
            if buffer.count == 64 {
                buffer.withUnsafeBytes { compress($0.baseAddress!, blocks: 1) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let whole = (bytes.count - offset) / 64
        if whole > 0 {
            compress(bytes.baseAddress! + offset, blocks: whole)
            offset += whole * 64
        }
        if offset < bytes.count { buffer.append(contentsOf: bytes[offset...]) }
    }

    /// The digest as 64 lowercase hex digits. Does not change the hasher.
    public func finalize() -> String {
        var copy = self
        var tail: [UInt8] = [0x80]
        let used = Int(length % 64)
        let pad = used < 56 ? 55 - used : 119 - used
        tail.append(contentsOf: repeatElement(0, count: pad))
        let bits = length &* 8
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        tail.withUnsafeBytes { copy.update($0) }
        return [copy.h0, copy.h1, copy.h2, copy.h3, copy.h4, copy.h5, copy.h6, copy.h7].map { String(format: "%08x", $0) }.joined()
    }

    /// Runs the compression function over `blocks` consecutive 64-byte blocks, state kept in locals.
    private mutating func compress(_ base: UnsafeRawPointer, blocks: Int) {
        var s0v = h0, s1v = h1, s2v = h2, s3v = h3, s4v = h4, s5v = h5, s6v = h6, s7v = h7
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            Self.k.withUnsafeBufferPointer { kb in
                let k = kb.baseAddress!
                let w = w.baseAddress!
                for blk in 0..<blocks {
                    let p = base + blk &* 64
                    for i in 0..<16 {
                        w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
                    }
                    for i in 16..<64 {
                        let a = w[i &- 15], b = w[i &- 2]
                        let x = rotr(a, 7) ^ rotr(a, 18) ^ (a >> 3)
                        let y = rotr(b, 17) ^ rotr(b, 19) ^ (b >> 10)
                        w[i] = w[i &- 16] &+ x &+ w[i &- 7] &+ y
                    }
                    var a = s0v, b = s1v, c = s2v, d = s3v, e = s4v, f = s5v, g = s6v, h = s7v
                    for i in 0..<64 {
                        let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                        let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                        h = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
                    }
                    s0v &+= a; s1v &+= b; s2v &+= c; s3v &+= d; s4v &+= e; s5v &+= f; s6v &+= g; s7v &+= h
                }
            }
        }
        h0 = s0v; h1 = s1v; h2 = s2v; h3 = s3v; h4 = s4v; h5 = s5v; h6 = s6v; h7 = s7v
    }

    @inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
}

/// Streaming SHA-1, used only to check git blob ids (the hub's ETag of small, non-LFS files
/// is the git object id: SHA-1 of `"blob <size>\0" + content`).
public struct SHA1Hasher: Sendable {
    private var state: [UInt32] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    /// A hasher with the standard initial state and no input yet.
    public init() {}

    /// Adds `data` to the message.
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update(UnsafeRawBufferPointer($0)) }
    }

    /// Adds raw bytes to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        length &+= UInt64(bytes.count)
        var offset = 0
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, bytes.count)
            buffer.append(contentsOf: bytes[0..<take])
            offset = take
            if buffer.count == 64 {
                buffer.withUnsafeBytes { compress(UnsafeRawBufferPointer(rebasing: $0[0..<64])) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        while bytes.count - offset >= 64 {
            compress(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 64]))
            offset += 64
        }
        if offset < bytes.count { buffer.append(contentsOf: bytes[offset...]) }
    }

    /// The digest as 40 lowercase hex digits. Does not change the hasher.
    public func finalize() -> String {
        var copy = self
        var tail: [UInt8] = [0x80]
        let used = Int(length % 64)
        let pad = used < 56 ? 55 - used : 119 - used
        tail.append(contentsOf: repeatElement(0, count: pad))
        let bits = length &* 8
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        tail.withUnsafeBytes { copy.update($0) }
        return copy.state.map { String(format: "%08x", $0) }.joined()
    }

    private mutating func compress(_ block: UnsafeRawBufferPointer) {
        var w = [UInt32](repeating: 0, count: 80)
        for i in 0..<16 {
            w[i] = UInt32(block[i * 4]) << 24 | UInt32(block[i * 4 + 1]) << 16
                | UInt32(block[i * 4 + 2]) << 8 | UInt32(block[i * 4 + 3])
        }
        for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
        var a = state[0], b = state[1], c = state[2], d = state[3], e = state[4]
        for i in 0..<80 {
            let f: UInt32, k: UInt32
            switch i {
            case 0..<20: f = (b & c) | (~b & d); k = 0x5A827999
            case 20..<40: f = b ^ c ^ d; k = 0x6ED9EBA1
            case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC
            default: f = b ^ c ^ d; k = 0xCA62C1D6
            }
            let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
            e = d; d = c; c = rotl(b, 30); b = a; a = t
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d; state[4] &+= e
    }

    @inline(__always) private func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }
}

/// What a file's content must hash to, as the hub (or the catalog) states it.
public enum ExpectedChecksum: Sendable, Hashable, CustomStringConvertible {
    /// Full SHA-256 of the content (LFS files, catalog weight checksums), 64 lowercase hex digits.
    case sha256(String)
    /// The first hex digits of the SHA-256 (torch hub file names such as `resnet50-11ad3fa6.pth`).
    case sha256Prefix(String)
    /// The git blob id: SHA-1 of `"blob <size>\0" + content` (the hub's ETag of non-LFS files).
    case gitBlobSHA1(String)

    /// Reads a hub ETag (quotes and a `W/` prefix removed): 64 hex digits are a SHA-256, 40 a git blob id;
    /// anything else is not a checksum and gives nil.
    public init?(etag raw: String) {
        var s = raw.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("W/") { s.removeFirst(2) }
        s = s.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
        guard s.allSatisfy({ $0.isHexDigit }) else { return nil }
        switch s.count {
        case 64: self = .sha256(s)
        case 40: self = .gitBlobSHA1(s)
        default: return nil
        }
    }

    /// The algorithm and digest for messages, e.g. `sha256 3f1c…` or `git blob sha1 9a2b…`.
    public var description: String {
        switch self {
        case .sha256(let h): return "sha256 \(h)"
        case .sha256Prefix(let p): return "sha256 starting with \(p)"
        case .gitBlobSHA1(let h): return "git blob sha1 \(h)"
        }
    }
}

/// Incremental checker for an `ExpectedChecksum`: feed the whole content in order, then `check()`.
/// A git blob id needs the content size up front (it is hashed before the content).
struct ChecksumVerifier: Sendable {
    let expected: ExpectedChecksum?
    private var sha256 = SHA256Hasher()
    private var sha1 = SHA1Hasher()

    /// - Parameters:
    ///   - expected: the checksum to verify, or nil for none.
    ///   - size: the content size in bytes; required for `.gitBlobSHA1` (without it nothing is verified).
    init(expected: ExpectedChecksum?, size: Int64?) {
        if case .gitBlobSHA1 = expected {
            guard let size else { self.expected = nil; return }
            sha1.update(Data("blob \(size)\0".utf8))
        }
        self.expected = expected
    }

    mutating func update(_ data: Data) {
        switch expected {
        case .none: break
        case .sha256, .sha256Prefix: sha256.update(data)
        case .gitBlobSHA1: sha1.update(data)
        }
    }

    /// Whether the content fed so far has the expected checksum, and the actual digest (hex).
    func check() -> (ok: Bool, actual: String) {
        switch expected {
        case .none: return (true, "")
        case .sha256(let h): let d = sha256.finalize(); return (d == h.lowercased(), d)
        case .sha256Prefix(let p): let d = sha256.finalize(); return (d.hasPrefix(p.lowercased()), d)
        case .gitBlobSHA1(let h): let d = sha1.finalize(); return (d == h.lowercased(), d)
        }
    }

    /// Hashes a whole file from disk (in 4 MiB reads) and checks it.
    static func verifyFile(_ url: URL, expected: ExpectedChecksum?, size: Int64?) throws -> (ok: Bool, actual: String) {
        var v = ChecksumVerifier(expected: expected, size: size)
        if v.expected == nil { return (true, "") }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { v.update(chunk) }
        return v.check()
    }
}
