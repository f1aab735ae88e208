// libFuzzer entry point for the QuiverWeights readers. Not part of the package build: it is
// compiled together with Sources/QuiverWeights/*.swift by scripts/fuzz/run-weights-fuzzer.sh.
// Each input goes through format detection (safetensors, PyTorch zip, PyTorch legacy,
// CTranslate2); when it parses, every tensor is loaded and summed. Any WeightsError is an
// expected rejection; a crash, sanitizer report, leak or timeout is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func weightsFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let file = MappedFile(bytes: bytes, path: "fuzz-input")
    do {
        let source = try WeightFiles.open(file: file)
        for info in source.infos {
            let t = try source.tensor(info.name)
            precondition(t.count == info.shape.reduce(1, *), "tensor \(info.name): \(t.count) values for shape \(info.shape)")
            _ = t.array.reduce(0, +)
        }
    } catch let e as WeightsError {
        precondition(e.description.contains("fuzz-input"), "message does not name the file: \(e)")
    } catch {
        preconditionFailure("error that is not a WeightsError: \(error)")
    }
    return 0
}
