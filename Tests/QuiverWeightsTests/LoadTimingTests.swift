import Foundation
import XCTest
import QuiverTestSupport
@testable import QuiverWeights

/// Opening and full-load times of the real checkpoints (opt-in: `QUIVER_BENCH=1`), printed as
/// `timing <file>: open … ms, load … ms`. Run with
/// `QUIVER_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter LoadTimingTests`.
final class LoadTimingTests: XCTestCase {
    func testOpenAndLoadTimes() throws {
        guard ProcessInfo.processInfo.environment["QUIVER_BENCH"] == "1" else { throw XCTSkip("set QUIVER_BENCH=1 to time checkpoint loading") }
        let files = [
            TestPaths.reference.appendingPathComponent("models/tiny-random-resnet-torchvision/resnet_bottleneck_1111.pth"),
            try TestPaths.model("efficientnet-lite0").appendingPathComponent("efficientnet-lite0-57934424.pth"),
            try TestPaths.model("faster-whisper-base").appendingPathComponent("model.bin"),
            try TestPaths.model("faster-whisper-tiny.en").appendingPathComponent("model.bin"),
            try TestPaths.model("all-MiniLM-L6-v2").appendingPathComponent("model.safetensors"),
        ]
        for url in files {
            var best = (open: Double.infinity, load: Double.infinity)
            for _ in 0..<3 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let source = try WeightFiles.open(path: url.path)
                let t1 = DispatchTime.now().uptimeNanoseconds
                var values = 0, expected = 0
                for info in source.infos {
                    values += try source.tensor(info.name).count
                    expected += info.shape.reduce(1, *)
                }
                let t2 = DispatchTime.now().uptimeNanoseconds
                XCTAssertEqual(values, expected)
                best = (min(best.open, Double(t1 - t0) / 1e6), min(best.load, Double(t2 - t1) / 1e6))
            }
            print(String(format: "timing %@/%@: open %.2f ms, load all tensors %.1f ms (best of 3)",
                         url.deletingLastPathComponent().lastPathComponent, url.lastPathComponent, best.open, best.load))
        }
    }
}
