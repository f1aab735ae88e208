import Foundation
import XCTest
import QuiverTestSupport
@testable import QuiverWeights

final class PyTorchCheckpointTests: XCTestCase {
    /// Every tensor of a real checkpoint: names, shapes and dtypes as torch.load reports them,
    /// every value finite and loadable, and the reference samples matching.
    private func checkAgainstReference(_ source: any WeightSource, _ ref: TorchReference) throws {
        XCTAssertEqual(source.infos.count, ref.tensor_count)
        XCTAssertEqual(Set(source.names), Set(ref.shapes.keys))
        for info in source.infos {
            XCTAssertEqual(info.shape, ref.shapes[info.name], info.name)
            XCTAssertEqual(WeightFixtures.torchName(info.dtype), ref.dtypes[info.name], info.name)
            let t = try source.tensor(info.name)
            XCTAssertEqual(t.count, info.shape.reduce(1, *), info.name)
            XCTAssertTrue(t.array.allSatisfy { $0.isFinite }, info.name)
        }
        for s in ref.samples { WeightFixtures.check(try source.tensor(s.name), against: s) }
    }

    func testTorchvisionResNetZipCheckpoint() throws {
        let ref: TorchReference = try WeightFixtures.json("resnet_bottleneck_1111.json")
        let path = TestPaths.repositoryRoot.appendingPathComponent(ref.file).path
        let source = try WeightFiles.open(path: path)
        XCTAssertTrue(source is PyTorchZipFile)
        XCTAssertEqual(source.infos.count, 104)  // ResNet(Bottleneck, [1,1,1,1]): 87 F32 + 17 num_batches_tracked
        XCTAssertEqual(source.info("conv1.weight")?.shape, [64, 3, 7, 7])
        XCTAssertEqual(source.info("fc.weight")?.shape, [1000, 2048])
        try checkAgainstReference(source, ref)
        let conv = try source.tensor("conv1.weight")
        XCTAssertTrue(conv.storage.isMapped, "contiguous F32 tensors of a stored ZIP entry must be used in place")
        let tracked = try source.tensor("bn1.num_batches_tracked")
        XCTAssertEqual(tracked.shape, [])
        XCTAssertEqual(tracked.sourceDType, .int64)
    }

    func testEfficientNetLite0LegacyCheckpoint() throws {
        let dir = try TestPaths.model("efficientnet-lite0")
        let ref: TorchReference = try WeightFixtures.json("efficientnet-lite0.json")
        let source = try WeightFiles.open(path: dir.appendingPathComponent("efficientnet-lite0-57934424.pth").path)
        XCTAssertTrue(source is PyTorchLegacyFile)
        XCTAssertEqual(source.infos.count, 296)
        XCTAssertEqual(source.infos.filter { $0.dtype == .float32 }.count, 247)  // + 49 int64 num_batches_tracked
        XCTAssertEqual(source.info("_conv_stem.weight")?.shape, [32, 3, 3, 3])
        XCTAssertEqual(source.info("_fc.weight")?.shape, [1000, 1280])
        XCTAssertFalse(ref.non_contiguous.isEmpty, "the file stores non-contiguous (permuted) conv weights")
        try checkAgainstReference(source, ref)
        XCTAssertTrue(ref.samples.contains { ref.non_contiguous.contains($0.name) && $0.name != "_conv_stem.weight" })
    }

    /// Synthetic zip and legacy files with every awkward case: F16/BF16/I64 storages, a
    /// transposed view, views at storage offsets, a Parameter, a scalar, a stride-2 view.
    func testTinyCheckpointsEveryValue() throws {
        let expected: [String: TinyTensor] = try WeightFixtures.json("tiny_checkpoints.json")
        for (file, type) in [("tiny_zip.pth", "PyTorchZipFile"), ("tiny_zip_deflated.pth", "PyTorchZipFile"),
                             ("tiny_legacy.pth", "PyTorchLegacyFile")] {
            let source = try WeightFiles.open(path: WeightFixtures.path(file))
            XCTAssertEqual("\(Swift.type(of: source))", type)
            XCTAssertEqual(Set(source.names), Set(expected.keys), file)
            for (name, e) in expected {
                let t = try source.tensor(name)
                XCTAssertEqual(t.shape, e.shape, "\(file) \(name)")
                XCTAssertEqual(WeightFixtures.torchName(t.sourceDType), e.dtype, "\(file) \(name)")
                // Exact: every conversion (F16, BF16, I64 small ints, gathers) is exact in float32.
                XCTAssertEqual(t.array.map(Double.init), e.values, "\(file) \(name)")
            }
            XCTAssertFalse(expected["dense.weight_t"]!.contiguous)
            XCTAssertFalse(expected["strided"]!.contiguous)
        }
    }

    func testWrappedStateDictIsUnwrapped() throws {
        // {"state_dict": OrderedDict(w=tensor)} written by hand as a protocol-2 zip-style pickle.
        var p = PickleBuilder()
        p.proto(); p.emptyDict(); p.mark()
        p.string("epoch"); p.int(3)
        p.string("optimizer"); p.tensorDict(["m": ("0", [2], [1])])
        p.string("state_dict"); p.tensorDict(["w": ("0", [2], [1])])
        p.op(0x75); p.stop()
        let file = MappedFile(bytes: ZipBuilder.torch(pickle: p.bytes, storages: ["0": [UInt8](repeating: 0, count: 8)]), path: "wrapped.pth")
        let source = try WeightFiles.open(file: file)
        XCTAssertEqual(source.names, ["w"])
        // Without a known wrapper key, nested dicts are flattened with dotted names.
        var q = PickleBuilder()
        q.proto(); q.emptyDict(); q.mark(); q.string("enc"); q.tensorDict(["w": ("0", [2], [1])]); q.string("b"); q.tensorDict(["w": ("0", [2], [1])]); q.op(0x75); q.stop()
        let flat = try WeightFiles.open(file: MappedFile(bytes: ZipBuilder.torch(pickle: q.bytes, storages: ["0": [UInt8](repeating: 0, count: 8)]), path: "nested.pth"))
        XCTAssertEqual(flat.names, ["b.w", "enc.w"])
    }

    func testZip64DirectoryIsRead() throws {
        var p = PickleBuilder()
        p.proto(); p.tensorDict(["w": ("0", [2, 2], [1, 2])]); p.stop()  // transposed 2×2
        let bytes = ZipBuilder.torch(pickle: p.bytes, storages: ["0": CT2Builder.floats([1, 2, 3, 4])], zip64: true)
        let source = try WeightFiles.open(file: MappedFile(bytes: bytes, path: "zip64.pth"))
        XCTAssertEqual(try source.tensor("w").array, [1, 3, 2, 4])
    }

    /// The central-directory record of `name` in a ZIP image (its offset).
    private func centralRecord(_ bytes: [UInt8], _ name: String) throws -> Int {
        let n = Array(name.utf8)
        for i in 0..<(bytes.count - 46 - n.count) where bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 1 && bytes[i + 3] == 2 {
            if Array(bytes[(i + 46)..<(i + 46 + n.count)]) == n { return i }
        }
        throw XCTSkip("no central record for \(name)")
    }

    private func put32(_ bytes: inout [UInt8], _ at: Int, _ v: UInt32) {
        for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
    }

    func testHostileDeflatedEntriesAreRejected() throws {
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: WeightFixtures.path("tiny_zip_deflated.pth"))))
        let record = try centralRecord(good, "tiny_zip/data/0")
        // A declared size deflate cannot produce (zip bomb): rejected before allocating.
        var bomb = good
        put32(&bomb, record + 24, 0xFFFF_FFF0)
        XCTAssertThrowsError(try WeightFiles.open(file: MappedFile(bytes: bomb, path: "bomb.pth"))) { e in
            XCTAssertTrue("\(e)".contains("bomb.pth") && "\(e)".contains("maximum ratio"), "\(e)")
        }
        // Declared size smaller than what the stream holds.
        var short = good
        put32(&short, try centralRecord(good, "tiny_zip/data.pkl") + 24, 800)  // really 856
        XCTAssertThrowsError(try WeightFiles.open(file: MappedFile(bytes: short, path: "short.pth"))) { e in
            XCTAssertTrue("\(e)".contains("'tiny_zip/data.pkl'") && "\(e)".contains("more than the declared 800 bytes"), "\(e)")
        }
        // Wrong CRC.
        var crc = good
        crc[record + 16] ^= 0xFF
        XCTAssertThrowsError(try WeightFiles.open(file: MappedFile(bytes: crc, path: "crc.pth"))) { e in
            XCTAssertTrue("\(e)".contains("CRC-32"), "\(e)")
        }
        // Compression method other than stored/deflate.
        var lzma = good
        lzma[record + 10] = 14
        XCTAssertThrowsError(try WeightFiles.open(file: MappedFile(bytes: lzma, path: "lzma.pth"))) { e in
            XCTAssertTrue("\(e)".contains("compressed (method 14)"), "\(e)")
        }
        // Corrupt deflate data: the stored method of our builder, relabelled as deflate.
        var p = PickleBuilder()
        p.proto(); p.tensorDict(["w": ("0", [2], [1])]); p.stop()
        let bytes = ZipBuilder.torch(pickle: p.bytes, storages: ["0": [UInt8](repeating: 0xFF, count: 8)], method: 8)
        XCTAssertThrowsError(try WeightFiles.open(file: MappedFile(bytes: bytes, path: "notdeflate.pth"))) { e in
            XCTAssertTrue("\(e)".contains("notdeflate.pth") && "\(e)".contains("'archive/"), "\(e)")
        }
    }

    func testViewOutsideStorageIsRejected() throws {
        var p = PickleBuilder()
        p.proto(); p.tensorDict(["w": ("0", [3, 2], [2, 1])], counts: ["0": 4]); p.stop()  // view needs 6 elements
        let file = MappedFile(bytes: ZipBuilder.torch(pickle: p.bytes, storages: ["0": [UInt8](repeating: 0, count: 16)]), path: "short.pth")
        XCTAssertThrowsError(try WeightFiles.open(file: file)) { e in
            XCTAssertTrue("\(e)".contains("short.pth") && "\(e)".contains("'w'") && "\(e)".contains("4 elements"), "\(e)")
        }
    }

    func testMissingStorageEntryIsNamed() throws {
        var p = PickleBuilder()
        p.proto(); p.tensorDict(["w": ("7", [2], [1])]); p.stop()
        let file = MappedFile(bytes: ZipBuilder.torch(pickle: p.bytes, storages: [:]), path: "nostorage.pth")
        XCTAssertThrowsError(try WeightFiles.open(file: file)) { e in
            XCTAssertTrue("\(e)".contains("storage '7'"), "\(e)")
        }
    }

    func testLegacyTruncatedStorageIsNamed() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: WeightFixtures.path("tiny_legacy.pth"))))
        let file = MappedFile(bytes: Array(bytes.prefix(bytes.count - 10)), path: "cut_legacy.pth")
        XCTAssertThrowsError(try WeightFiles.open(file: file)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("cut_legacy.pth") && m.contains("storage"), m)
        }
    }

    func testUnknownFormatNamesFileAndBytes() throws {
        let file = MappedFile(bytes: Array("hello, world".utf8), path: "notes.txt")
        XCTAssertThrowsError(try WeightFiles.open(file: file)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("notes.txt") && m.contains("68 65 6c 6c 6f"), m)
        }
        XCTAssertThrowsError(try WeightFiles.open(path: "/nonexistent/model.pth")) { e in
            XCTAssertEqual(e as? WeightsError, .cannotOpen(path: "/nonexistent/model.pth", reason: "No such file or directory"))
        }
    }

    func testFormatDetection() throws {
        let dir = try TestPaths.model("all-MiniLM-L6-v2")
        XCTAssertEqual(try WeightFiles.format(path: dir.appendingPathComponent("model.safetensors").path), .safetensors)
        XCTAssertEqual(try WeightFiles.format(path: WeightFixtures.path("tiny_zip.pth")), .pytorchZip)
        XCTAssertEqual(try WeightFiles.format(path: WeightFixtures.path("tiny_legacy.pth")), .pytorchLegacy)
        XCTAssertEqual(try WeightFiles.format(of: MappedFile(bytes: CT2Builder.sample(), path: "m.bin")), .ctranslate2)
    }
}
