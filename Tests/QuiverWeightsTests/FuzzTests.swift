import Foundation
import XCTest
import QuiverTestSupport
@testable import QuiverWeights

/// Seeded mutation fuzzing of every reader: bit flips, interesting bytes, overwritten length
/// fields (2/4/8-byte integers such as 0, 0xFFFFFFFF, Int64.max), truncations, deleted and
/// duplicated chunks — applied to real files' headers and to small synthetic files. Every case
/// must either parse (and then every tensor must load) or throw a `WeightsError` naming the
/// file; a crash, trap or runaway allocation fails the run. Deterministic; a few thousand
/// cases per reader. Reproduce one case with its seed and index from the failure message.
final class FuzzTests: XCTestCase {
    static let casesPerSeed = 1500

    static let interestingInts: [UInt64] = [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000,
        0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
    ]

    /// One mutant of `seed`; positions fall in `window` (the header region) when given.
    static func mutate(_ seed: [UInt8], _ rng: inout SeededRandom, window: Range<Int>? = nil) -> [UInt8] {
        var b = seed
        let rounds = 1 + rng.below(3)
        for _ in 0..<rounds {
            guard !b.isEmpty else { break }
            let w = window.map { $0.clamped(to: 0..<b.count) } ?? 0..<b.count
            let span = w.isEmpty ? 0..<b.count : w
            let pos = span.lowerBound + rng.below(span.count)
            switch rng.below(8) {
            case 0, 1:  // bit flip
                b[pos] ^= UInt8(1) << UInt8(rng.below(8))
            case 2:  // interesting byte
                b[pos] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x2E, 0x28, 0x7B][rng.below(8)]
            case 3, 4:  // length-field overwrite
                let width = [2, 4, 8][rng.below(3)]
                var v = interestingInts[rng.below(interestingInts.count)]
                if rng.below(4) == 0 { v = UInt64(rng.below(b.count * 2 + 1)) }
                for i in 0..<width where pos + i < b.count { b[pos + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
            case 5:  // truncation
                b.removeSubrange(rng.below(b.count)...)
            case 6:  // delete a chunk
                let n = min(1 + rng.below(16), b.count - pos)
                b.removeSubrange(pos..<(pos + n))
            default:  // duplicate a chunk somewhere else
                let n = min(1 + rng.below(16), b.count - pos)
                let chunk = Array(b[pos..<(pos + n)])
                b.insert(contentsOf: chunk, at: rng.below(b.count + 1))
            }
        }
        return b
    }

    struct Outcome { var parsed = 0; var rejected = 0 }

    /// Runs `cases` mutants of `seed` through `parse`, which returns the number of tensors it loaded.
    @discardableResult
    func fuzz(_ label: String, seed: [UInt8], seedValue: UInt64, cases: Int = casesPerSeed, window: Range<Int>? = nil,
              parse: (MappedFile) throws -> Int, file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        var rng = SeededRandom(seed: seedValue)
        var outcome = Outcome()
        for i in 0..<cases {
            let bytes = Self.mutate(seed, &rng, window: window)
            let path = "fuzz-\(label)-\(seedValue)-\(i)"
            do {
                _ = try parse(MappedFile(bytes: bytes, path: path))
                outcome.parsed += 1
            } catch let e as WeightsError {
                outcome.rejected += 1
                if !e.description.contains(path) { XCTFail("\(path): message does not name the file: \(e)", file: file, line: line) }
            } catch {
                XCTFail("\(path): error of type \(type(of: error)), not WeightsError: \(error)", file: file, line: line)
            }
        }
        print("fuzz \(label): \(cases) cases, \(outcome.parsed) parsed, \(outcome.rejected) rejected")
        return outcome
    }

    /// Opens through format detection, then loads and sums every tensor.
    static func openAndLoadAll(_ file: MappedFile) throws -> Int {
        let source = try WeightFiles.open(file: file)
        var n = 0
        for info in source.infos {
            let t = try source.tensor(info.name)
            guard t.count == info.shape.reduce(1, *) else {
                throw WeightsError.malformed(path: file.path, reason: "BUG: \(info.name) has \(t.count) values for shape \(info.shape)")
            }
            _ = t.withValues { $0.reduce(0, +) }
            n += 1
        }
        return n
    }

    private func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: WeightFixtures.path(name))))
    }

    private func modelFile(_ model: String, _ file: String, prefix: Int) -> [UInt8]? {
        let url = TestPaths.modelHome.appendingPathComponent("models/\(model)/\(file)")
        guard let h = FileHandle(forReadingAtPath: url.path) else { return nil }
        defer { try? h.close() }
        return (try? h.read(upToCount: prefix)).map { [UInt8]($0) }
    }

    func testFuzzPyTorchZip() throws {
        let tiny = try fixture("tiny_zip.pth")
        let o = fuzz("zip", seed: tiny, seedValue: 1, parse: Self.openAndLoadAll)
        XCTAssertGreaterThan(o.parsed, 0, "some mutants (e.g. in tensor data) must still parse")
        XCTAssertGreaterThan(o.rejected, 0)
        // The central directory and local headers at the end of the file.
        fuzz("zip-directory", seed: tiny, seedValue: 2, window: max(0, tiny.count - 1200)..<tiny.count, parse: Self.openAndLoadAll)
        // The same archive re-compressed with deflate.
        fuzz("zip-deflated", seed: try fixture("tiny_zip_deflated.pth"), seedValue: 12, parse: Self.openAndLoadAll)
        // A synthetic archive with ZIP64 records.
        var p = PickleBuilder()
        p.proto(); p.tensorDict(["a": ("0", [2, 2], [1, 2]), "b": ("0", [3], [1])]); p.stop()
        let z64 = ZipBuilder.torch(pickle: p.bytes, storages: ["0": CT2Builder.floats([1, 2, 3, 4])], zip64: true)
        fuzz("zip64", seed: z64, seedValue: 3, parse: Self.openAndLoadAll)
    }

    func testFuzzPickleMachineOnRealDataPkl() throws {
        // data.pkl of the torchvision ResNet checkpoint (12 KB, 104 tensors), run directly.
        let path = TestPaths.reference.appendingPathComponent("models/tiny-random-resnet-torchvision/resnet_bottleneck_1111.pth").path
        let zip = try ZipArchive(file: MappedFile(path: path))
        let name = try XCTUnwrap(zip.order.first { $0.hasSuffix("/data.pkl") })
        let pkl = Array(try zip.data(name))
        let o = fuzz("data.pkl", seed: pkl, seedValue: 4, cases: 3000) { file in
            var m = PickleMachine(path: file.path, what: "data.pkl")
            var r = ByteReader(path: file.path, bytes: try file.bytes(0, file.count))
            let root = try m.run(&r) { m, pid, at in try m.torchStorage(pid, at: at) }
            return try m.stateDict(root, at: r.offset).count
        }
        XCTAssertGreaterThan(o.parsed, 0)
    }

    func testFuzzPyTorchLegacy() throws {
        let tiny = try fixture("tiny_legacy.pth")
        let o = fuzz("legacy", seed: tiny, seedValue: 5, parse: Self.openAndLoadAll)
        XCTAssertGreaterThan(o.parsed, 0)
        XCTAssertGreaterThan(o.rejected, 0)
        // The pickles of the real EfficientNet file: header pickles, the state dict (to byte
        // 42486) and the storage key list (to 47176), mutated there; the storages are cut off.
        if let real = modelFile("efficientnet-lite0", "efficientnet-lite0-57934424.pth", prefix: 47_500) {
            fuzz("legacy-efficientnet", seed: real, seedValue: 6, window: 0..<47_176, parse: Self.openAndLoadAll)
        }
    }

    func testFuzzCTranslate2() throws {
        let o = fuzz("ct2", seed: CT2Builder.sample(), seedValue: 7, parse: Self.openAndLoadAll)
        XCTAssertGreaterThan(o.parsed, 0)
        XCTAssertGreaterThan(o.rejected, 0)
        if let real = modelFile("faster-whisper-tiny.en", "model.bin", prefix: 4096) {
            // The first 4 KB hold the version, spec name and the first variables' headers.
            fuzz("ct2-whisper", seed: real, seedValue: 8, parse: Self.openAndLoadAll)
        }
    }

    func testFuzzSafeTensors() throws {
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},"c":{"dtype":"BF16","shape":[],"data_offsets":[22,24]}}"#
        var st = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8)
        st += CT2Builder.floats([1, 2, 3, 4]) + [0, 0x3C, 0, 0xC0, 0, 0x7C] + [0x80, 0x3F]
        let o = fuzz("safetensors", seed: st, seedValue: 9, parse: Self.openAndLoadAll)
        XCTAssertGreaterThan(o.parsed, 0)
        XCTAssertGreaterThan(o.rejected, 0)
        if let real = modelFile("all-MiniLM-L6-v2", "model.safetensors", prefix: 16_384) {
            fuzz("safetensors-minilm", seed: real, seedValue: 10, window: 0..<12_000, parse: Self.openAndLoadAll)
        }
    }

    func testFormatDetectionFuzz() throws {
        // Random short byte strings through detection alone.
        var rng = SeededRandom(seed: 11)
        for i in 0..<2000 {
            let bytes = (0..<rng.below(40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let path = "fuzz-detect-\(i)"
            do { _ = try Self.openAndLoadAll(MappedFile(bytes: bytes, path: path)) } catch let e as WeightsError {
                XCTAssertTrue(e.description.contains(path), "\(e)")
            }
        }
    }
}
