import Foundation

/// Opens a checkpoint of any supported format, recognised by its content (not its extension).
public enum WeightFiles {
    /// The checkpoint formats Quiver reads.
    public enum Format: String, Sendable, Equatable {
        /// `.safetensors`: 8-byte header length, then a JSON header.
        case safetensors
        /// PyTorch ≥ 1.6 `torch.save` zip archive (`PK\x03\x04`).
        case pytorchZip
        /// PyTorch legacy stream (pickled magic number 0x1950a86a20f9469cfc6c).
        case pytorchLegacy
        /// CTranslate2 `model.bin` (`u32` binary version, then the spec name).
        case ctranslate2
    }

    /// The format of `path` from its first bytes.
    /// - Throws: `WeightsError.cannotOpen` if unreadable, `.malformed` naming the file and its first bytes if unrecognised.
    public static func format(path: String) throws -> Format {
        try format(of: try MappedFile(path: path))
    }

    static func format(of file: MappedFile) throws -> Format {
        let head = try file.bytes(0, min(file.count, 32))
        let b = Array(head)
        if b.count >= 4, b[0] == 0x50, b[1] == 0x4B, b[2] == 0x03, b[3] == 0x04 { return .pytorchZip }
        // A pickle (PROTO n) whose first opcode is LONG1 of the 10 magic bytes.
        if b.count >= 14, b[0] == 0x80, b[2] == 0x8A, b[3] == 0x0A, Array(b[4..<14]) == PyTorchLegacyFile.magic { return .pytorchLegacy }
        if b.count >= 9, b[8] == UInt8(ascii: "{"), head.le(0, as: UInt64.self) >= 2 { return .safetensors }
        if b.count >= 6 {
            let version = head.le(0, as: UInt32.self), nameLength = head.le(4, as: UInt16.self)
            if version >= 1, version <= 64, nameLength >= 1, nameLength <= 1024 { return .ctranslate2 }
        }
        let hex = b.prefix(16).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw WeightsError.malformed(path: file.path, reason: "unrecognised checkpoint format (first bytes: \(hex.isEmpty ? "none, the file is empty" : hex)); Quiver reads safetensors, PyTorch (.pth/.pt/.bin, zip or legacy) and CTranslate2 model.bin files")
    }

    /// Opens `path` with the reader its content calls for.
    /// - Returns: a `SafeTensorsFile`, `PyTorchZipFile`, `PyTorchLegacyFile` or `CTranslate2File`.
    /// - Throws: `WeightsError` naming the file and the problem.
    public static func open(path: String) throws -> any WeightSource {
        try open(file: try MappedFile(path: path))
    }

    /// Opens an already mapped (or in-memory) file.
    public static func open(file: MappedFile) throws -> any WeightSource {
        switch try format(of: file) {
        case .safetensors: return try SafeTensorsFile(file: file)
        case .pytorchZip: return try PyTorchZipFile(file: file)
        case .pytorchLegacy: return try PyTorchLegacyFile(file: file)
        case .ctranslate2: return try CTranslate2File(file: file)
        }
    }
}
