import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTokenizers

/// Tokenization must be a negligible share of the text benchmark: 4,000 WordNet-like glosses
/// well under 50 ms in release. Run with
/// `swift test -c release -Xswiftc -enable-testing --filter QuiverTokenizersTests.SpeedTests`.
final class SpeedTests: XCTestCase {
    /// The first 4,000 WordNet noun glosses (`/usr/share/wordnet/data.noun`, installed by
    /// scripts/install-system-deps.sh), or, without WordNet, 4,000 deterministic gloss-like texts
    /// made from the words of the reference glosses.
    static func glosses() throws -> (source: String, texts: [String]) {
        if let data = FileManager.default.contents(atPath: "/usr/share/wordnet/data.noun"), let text = String(data: data, encoding: .utf8) {
            var glosses: [String] = []
            for line in text.split(separator: "\n") where !line.hasPrefix(" ") {
                guard let bar = line.range(of: " | ") else { continue }
                glosses.append(line[bar.upperBound...].trimmingCharacters(in: .whitespaces))
                if glosses.count == 4000 { return ("WordNet data.noun", glosses) }
            }
        }
        struct T: Decodable { var texts: [String] }
        let t: T = try TestPaths.referenceJSON("text/all-MiniLM-L6-v2.json")
        let words = t.texts.filter { $0.count < 200 }.flatMap { $0.split(separator: " ").map(String.init) }
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        return ("synthetic", (0..<4000).map { _ in (0..<(5 + next() % 12)).map { _ in words[next() % words.count] }.joined(separator: " ") })
    }

    func measure(_ name: String, _ tokenizer: Tokenizer, _ texts: [String], limitMs: Double) {
        // CPU time of this thread (the machine is shared; wall time would count other processes).
        func cpuMs() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
        }
        var best = Double.infinity, bestWall = Double.infinity
        var tokens = 0
        let repeats = Int(ProcessInfo.processInfo.environment["QUIVER_SPEED_REPEATS"] ?? "") ?? 5
        for _ in 0..<repeats {
            let start = cpuMs(), wall = DispatchTime.now().uptimeNanoseconds
            tokens = 0
            for text in texts { tokens += tokenizer.encode(text).count }
            best = min(best, cpuMs() - start)
            bestWall = min(bestWall, Double(DispatchTime.now().uptimeNanoseconds - wall) / 1e6)
        }
        var batch: [Encoding] = []
        var batchMs = Double.infinity
        var batchCPU = Double.infinity
        func processCPUMs() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
        }
        for _ in 0..<3 {
            let startBatch = DispatchTime.now().uptimeNanoseconds, cpu = processCPUMs()
            batch = tokenizer.encodeBatch(texts)
            batchMs = min(batchMs, Double(DispatchTime.now().uptimeNanoseconds - startBatch) / 1e6)
            batchCPU = min(batchCPU, processCPUMs() - cpu)
        }
        print("[speed] \(name): \(texts.count) texts, \(tokens) tokens: \(String(format: "%.1f", best)) ms CPU sequential (best of \(repeats); wall \(String(format: "%.1f", bestWall)) ms), \(String(format: "%.1f", batchMs)) ms wall encodeBatch (best of 3, \(String(format: "%.1f", batchCPU)) ms CPU in all threads)")
        XCTAssertEqual(batch.count, texts.count)
        XCTAssertLessThan(best, limitMs, "\(name): tokenizing \(texts.count) glosses took \(best) ms")
    }

    func testFourThousandGlosses() throws {
        #if DEBUG
        throw XCTSkip("speed is measured in release builds (swift test -c release -Xswiftc -enable-testing)")
        #else
        let (source, texts) = try Self.glosses()
        print("[speed] texts: \(source), \(texts.map(\.count).reduce(0, +) / texts.count) characters on average")
        func timed<T>(_ what: String, _ body: () throws -> T) rethrows -> T {
            let start = DispatchTime.now().uptimeNanoseconds
            let r = try body()
            print("[speed] load \(what): \(String(format: "%.0f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)) ms")
            return r
        }
        for model in ["all-MiniLM-L6-v2", "all-mpnet-base-v2"] {
            var t = try timed(model) { try Tokenizer(contentsOf: try TestPaths.model(model).appendingPathComponent("tokenizer.json")) }
            t.padding = nil
            t.maxLength = 256
            measure(model, t, texts, limitMs: 50)
        }
        let clip = try timed("CLIP from bpe_simple_vocab_16e6.txt.gz") { try CLIPTokenizer.load(mergesFile: try TestPaths.model("clip-bpe").appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")) }
        measure("CLIP", clip, texts, limitMs: 50)
        let whisper = try timed("faster-whisper-base") { try Tokenizer(contentsOf: try TestPaths.model("faster-whisper-base").appendingPathComponent("tokenizer.json")) }
        measure("whisper", whisper, texts, limitMs: 50)
        #endif
    }
}
