import Foundation
import XCTest
import QuiverTestSupport
@testable import QuiverWeights

final class CTranslate2Tests: XCTestCase {
    private func checkWhisper(_ model: String, dModel: Int, layers: Int) throws {
        let dir = try TestPaths.model(model)
        let ref: CT2Reference = try WeightFixtures.json("\(model).json")
        let source = try WeightFiles.open(path: dir.appendingPathComponent("model.bin").path)
        guard let ct2 = source as? CTranslate2File else { return XCTFail("\(type(of: source)) is not a CTranslate2File") }
        XCTAssertEqual(ct2.specName, ref.spec)
        XCTAssertEqual(ct2.revision, ref.revision)
        XCTAssertEqual(ct2.aliases, ref.aliases)
        XCTAssertEqual(ct2.infos.count, ref.variable_count + ref.aliases.count, "variables plus aliases are names")
        // Encoder: every name and shape; d_model from the first convolution and the final norm.
        let encoder = ct2.infos.filter { $0.name.hasPrefix("encoder/") }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: encoder.map { ($0.name, $0.shape) }), ref.encoder_shapes)
        XCTAssertEqual(ct2.info("encoder/conv1/weight")?.shape, [dModel, 80, 3])
        XCTAssertEqual(ct2.info("encoder/conv2/weight")?.shape, [dModel, dModel, 3])
        XCTAssertEqual(ct2.info("encoder/position_encodings/encodings")?.shape, [1500, dModel])
        XCTAssertEqual(ct2.info("encoder/layer_norm/gamma")?.shape, [dModel])
        XCTAssertEqual(ct2.info("encoder/layer_\(layers - 1)/ffn/linear_0/weight")?.shape, [4 * dModel, dModel])
        XCTAssertNil(ct2.info("encoder/layer_\(layers)/ffn/linear_0/weight"))
        for info in ct2.infos {
            XCTAssertEqual(info.dtype.rawValue.lowercased(), Self.numpyToDType[ref.dtypes[ct2.canonicalName(info.name)] ?? ""], info.name)
            let t = try ct2.tensor(info.name)
            XCTAssertEqual(t.count, info.shape.reduce(1, *), info.name)
            XCTAssertTrue(t.array.allSatisfy { $0.isFinite }, info.name)
        }
        for s in ref.samples { WeightFixtures.check(try ct2.tensor(s.name), against: s) }
        // An alias reads the same values as its variable.
        for (alias, target) in ct2.aliases {
            XCTAssertEqual(try ct2.tensor(alias).array, try ct2.tensor(target).array, alias)
        }
    }

    static let numpyToDType = ["float32": "f32", "float16": "f16", "int8": "i8", "int16": "i16", "int32": "i32"]

    func testFasterWhisperBase() throws { try checkWhisper("faster-whisper-base", dModel: 512, layers: 6) }

    func testFasterWhisperTinyEn() throws { try checkWhisper("faster-whisper-tiny.en", dModel: 384, layers: 4) }

    func testSyntheticFileEveryTypeAndAlias() throws {
        let ct2 = try CTranslate2File(file: MappedFile(bytes: CT2Builder.sample(), path: "sample.bin"))
        XCTAssertEqual(ct2.names, ["dec/w", "enc/h", "enc/i", "enc/s", "enc/w"])
        XCTAssertEqual(try ct2.tensor("enc/w").array, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try ct2.tensor("enc/w").shape, [2, 3])
        XCTAssertEqual(try ct2.tensor("enc/h").array, [1, -2])
        XCTAssertEqual(try ct2.tensor("enc/s").shape, [])
        XCTAssertEqual(try ct2.tensor("enc/s").array, [-3])
        XCTAssertEqual(try ct2.tensor("enc/i").array, [7, -8])
        XCTAssertEqual(try ct2.tensor("dec/w").array, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(ct2.canonicalName("dec/w"), "enc/w")
        // The loader counts an alias as used once its variable was taken.
        let loader = WeightLoader(ct2)
        for n in ["enc/w", "enc/h", "enc/s", "enc/i"] { _ = try loader.root.tensor(n) }
        XCTAssertNoThrow(try loader.finish())
    }

    func testUnsupportedVersionAndTypeAreNamed() throws {
        let v5 = CT2Builder.build(version: 5, variables: [])
        XCTAssertThrowsError(try CTranslate2File(file: MappedFile(bytes: v5, path: "old.bin"))) { e in
            XCTAssertTrue("\(e)".contains("old.bin") && "\(e)".contains("binary version 5"), "\(e)")
        }
        let bad = CT2Builder.build(variables: [.init(name: "x", dims: [1], typeID: 9, data: [0])])
        XCTAssertThrowsError(try CTranslate2File(file: MappedFile(bytes: bad, path: "t.bin"))) { e in
            XCTAssertEqual(e as? WeightsError, .unsupportedDType(path: "t.bin", tensor: "x", dtype: "CTranslate2 type id 9"))
        }
    }

    func testHostileSizesAreRejectedBeforeAllocating() throws {
        // Byte count that disagrees with the shape.
        let wrong = CT2Builder.build(variables: [.init(name: "x", dims: [4], typeID: 0, data: [0, 0, 0, 0])])
        XCTAssertThrowsError(try CTranslate2File(file: MappedFile(bytes: wrong, path: "w.bin"))) { e in
            XCTAssertTrue("\(e)".contains("'x'") && "\(e)".contains("needs 16"), "\(e)")
        }
        // Shape whose product overflows.
        let huge = CT2Builder.build(variables: [.init(name: "x", dims: [UInt32.max, UInt32.max, UInt32.max], typeID: 0, data: [])])
        XCTAssertThrowsError(try CTranslate2File(file: MappedFile(bytes: huge, path: "h.bin"))) { e in
            XCTAssertTrue("\(e)".contains("overflow"), "\(e)")
        }
        // Variable count far beyond the file.
        var many = CT2Builder.build(variables: [])
        many.replaceSubrange(19..<23, with: [0xFF, 0xFF, 0xFF, 0x7F])
        XCTAssertThrowsError(try CTranslate2File(file: MappedFile(bytes: many, path: "m.bin"))) { e in
            XCTAssertTrue("\(e)".contains("variables, more than the file can hold"), "\(e)")
        }
        // Alias to nothing.
        let dangling = CT2Builder.build(variables: [], aliases: [("a", "b")])
        XCTAssertThrowsError(try CTranslate2File(file: MappedFile(bytes: dangling, path: "d.bin"))) { e in
            XCTAssertTrue("\(e)".contains("alias 'a' names 'b'"), "\(e)")
        }
        // Truncation inside the data.
        let sample = CT2Builder.sample()
        XCTAssertThrowsError(try CTranslate2File(file: MappedFile(bytes: Array(sample.prefix(60)), path: "cut.bin"))) { e in
            XCTAssertTrue("\(e)".contains("cut.bin") && "\(e)".contains("truncated"), "\(e)")
        }
    }
}

final class WeightNamesTests: XCTestCase {
    func testSimilarNamesForBothSeparators() throws {
        let ct2 = try CTranslate2File(file: MappedFile(bytes: CT2Builder.sample(), path: "sample.bin"))
        XCTAssertThrowsError(try ct2.tensor("encoder/w")) { e in
            XCTAssertEqual(e as? WeightsError, .missingTensor(path: "sample.bin", tensor: "encoder/w", similar: ["dec/w", "enc/w"]))
        }
        XCTAssertEqual(WeightNames.similar(to: "layer.0.attn.weight", in: ["encoder.layer.0.attn.weight", "x.bias"]), ["encoder.layer.0.attn.weight"])
        XCTAssertEqual(WeightNames.similar(to: "a.b.bias", in: ["x.y.bias", "z.weight"]), ["x.y.bias"])
    }
}
