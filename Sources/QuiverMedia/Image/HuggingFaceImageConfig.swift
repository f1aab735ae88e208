import Foundation

/// Which of transformers' two image-processor implementations to reproduce.
public enum HuggingFaceImageBackend: String, Sendable, Equatable {
    /// The torchvision backend (`CLIPImageProcessor`, ...), which `AutoImageProcessor` loads by
    /// default in transformers 5: PyTorch uint8 resize, fused rescale+normalize.
    case torchvision
    /// The PIL backend (`CLIPImageProcessorPil`, ...; `use_fast=False` in transformers 4):
    /// Pillow resize, float64 rescale then float32 normalize.
    case pil
}

extension ImagePreprocessor {
    /// Reads a Hugging Face `preprocessor_config.json` and returns the pipeline that transformers'
    /// image processor `backend` runs for it (bit-identical pixel values; the two backends differ
    /// by at most one resize level on some pixels).
    ///
    /// Understood: `CLIPImageProcessor`, `ConvNextImageProcessor` (with `crop_pct`: for
    /// `shortest_edge < 384` resize the shorter side to `int(shortest_edge / crop_pct)` then crop
    /// `shortest_edge` square, else warp to a square), `ViTImageProcessor`, and any processor using
    /// the common fields (`do_resize`, `size`, `resample`, `do_center_crop`, `crop_size`,
    /// `do_rescale`, `rescale_factor`, `do_normalize`, `image_mean`, `image_std`). Missing fields
    /// take the defaults of the named processor class.
    public init(huggingFaceConfig url: URL, backend: HuggingFaceImageBackend = .torchvision) throws {
        let path = url.path
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        } catch {
            throw MediaError.invalidPreprocessorConfig(path: path, field: "(file)", reason: "not readable JSON: \(error.localizedDescription)")
        }
        guard let json = object as? [String: Any] else {
            throw MediaError.invalidPreprocessorConfig(path: path, field: "(file)", reason: "top level is not a JSON object")
        }
        try self.init(huggingFaceConfig: json, path: path, backend: backend)
    }

    /// The same from an already parsed JSON object; `path` is used in error messages.
    public init(huggingFaceConfig json: [String: Any], path: String = "preprocessor_config.json",
                backend: HuggingFaceImageBackend = .torchvision) throws {
        func fail(_ field: String, _ reason: String) -> MediaError {
            MediaError.invalidPreprocessorConfig(path: path, field: field, reason: reason)
        }
        var type = (json["image_processor_type"] as? String) ?? ""
        for suffix in ["Fast", "Pil"] where type.hasSuffix(suffix) { type.removeLast(suffix.count) }

        // Class defaults (transformers' PIL backends).
        var defaults: [String: Any] = ["do_resize": false, "do_center_crop": false, "do_rescale": false,
                                       "do_normalize": false, "rescale_factor": 1.0 / 255.0, "resample": 2]
        var squareIntSize = true
        switch type {
        case "CLIPImageProcessor":
            defaults.merge(["do_resize": true, "do_center_crop": true, "do_rescale": true, "do_normalize": true,
                            "resample": 3, "size": ["shortest_edge": 224], "crop_size": ["height": 224, "width": 224],
                            "image_mean": Self.clipMean, "image_std": Self.clipStd]) { $1 }
            squareIntSize = false
        case "ConvNextImageProcessor":
            defaults.merge(["do_resize": true, "do_rescale": true, "do_normalize": true, "resample": 3,
                            "size": ["shortest_edge": 384], "crop_pct": 224.0 / 256.0,
                            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]]) { $1 }
            squareIntSize = false
        case "ViTImageProcessor":
            defaults.merge(["do_resize": true, "do_rescale": true, "do_normalize": true, "resample": 2,
                            "size": ["height": 224, "width": 224],
                            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]]) { $1 }
        default:
            break
        }
        func value(_ key: String) -> Any? {
            if let v = json[key], !(v is NSNull) { return v }
            return defaults[key]
        }
        func bool(_ key: String) throws -> Bool {
            guard let v = value(key) else { return false }
            guard let b = v as? Bool else { throw fail(key, "expected true or false, got \(v)") }
            return b
        }
        func number(_ key: String) throws -> Double? {
            guard let v = value(key) else { return nil }
            guard let n = v as? NSNumber, !(v is Bool) else { throw fail(key, "expected a number, got \(v)") }
            return n.doubleValue
        }
        func triple(_ key: String) throws -> [Double] {
            guard let v = value(key) else { throw fail(key, "missing (needed because do_normalize is true)") }
            if let n = v as? NSNumber { return Array(repeating: n.doubleValue, count: 3) }
            guard let list = v as? [Any], list.count == 3, list.allSatisfy({ $0 is NSNumber }) else {
                throw fail(key, "expected a number or a list of 3 numbers, got \(v)")
            }
            return list.map { ($0 as! NSNumber).doubleValue }
        }
        func sizeDict(_ key: String, intIsSquare: Bool) throws -> [String: Int] {
            guard let v = value(key) else { throw fail(key, "missing") }
            if let n = v as? Int { return intIsSquare ? ["height": n, "width": n] : ["shortest_edge": n] }
            guard let d = v as? [String: Any] else { throw fail(key, "expected an integer or an object, got \(v)") }
            var out: [String: Int] = [:]
            for (k, x) in d where !(x is NSNull) {
                guard let i = x as? Int, i > 0 else { throw fail("\(key).\(k)", "expected a positive integer, got \(x)") }
                out[k] = i
            }
            return out
        }

        let doResize = try bool("do_resize")
        let resampleCode = Int(try number("resample") ?? 2)
        guard let filter = ResampleFilter(pillowCode: resampleCode) else {
            throw fail("resample", "Pillow resample code \(resampleCode) is not supported (use 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX or 5 HAMMING)")
        }
        if backend == .torchvision && filter != .bilinear && filter != .bicubic {
            throw fail("resample", "code \(resampleCode) (\(filter.rawValue)) is only supported with the PIL backend (HuggingFaceImageBackend.pil)")
        }
        var resize = Resize.none
        var crop: Size?
        if doResize {
            let size = try sizeDict("size", intIsSquare: squareIntSize)
            if size["longest_edge"] != nil || size["max_height"] != nil {
                throw fail("size", "longest_edge / max_height sizes are not supported")
            }
            if let se = size["shortest_edge"] {
                if type == "ConvNextImageProcessor" {
                    let pct = try number("crop_pct") ?? 224.0 / 256.0
                    guard pct > 0 else { throw fail("crop_pct", "must be positive, got \(pct)") }
                    if se < 384 {
                        resize = .shortestEdge(Int(Double(se) / pct))
                        crop = Size(width: se, height: se)
                    } else {
                        resize = .exact(width: se, height: se)
                    }
                } else {
                    resize = .shortestEdge(se)
                }
            } else if let h = size["height"], let w = size["width"] {
                resize = .exact(width: w, height: h)
            } else {
                throw fail("size", "expected shortest_edge or height and width, got \(size)")
            }
        }
        if try bool("do_center_crop") {
            let c = try sizeDict("crop_size", intIsSquare: true)
            guard let h = c["height"], let w = c["width"] else { throw fail("crop_size", "expected height and width, got \(c)") }
            if let earlier = crop, earlier != Size(width: w, height: h) {
                throw fail("crop_size", "a second center crop (\(w)x\(h)) after crop_pct's \(earlier.width)x\(earlier.height) crop is not supported")
            }
            crop = Size(width: w, height: h)
        }
        var rescale = try bool("do_rescale") ? try number("rescale_factor") : nil
        // Foundation's JSON number parsing can land one ulp away from the correctly rounded
        // double ("0.00392156862745098" is Python's 1/255); use the exact value of 1/255 then.
        if let r = rescale, abs(r - 1.0 / 255.0) < 1e-15 { rescale = 1.0 / 255.0 }
        var mean: [Double]?, std: [Double]?
        if try bool("do_normalize") {
            mean = try triple("image_mean")
            std = try triple("image_std")
            if std!.contains(0) { throw fail("image_std", "contains a zero") }
        }
        switch backend {
        case .pil:
            self.init(resize: resize, filter: filter, resizeBackend: .pillow, centerCrop: crop, cropRounding: .huggingFace,
                      rescaleFactor: rescale, mean: mean, std: std, arithmetic: .huggingFace)
        case .torchvision:
            self.init(resize: resize, filter: filter, resizeBackend: .torch, centerCrop: crop, cropRounding: .huggingFaceTorchvision,
                      rescaleFactor: rescale, mean: mean, std: std, arithmetic: .huggingFaceTorchvision)
        }
    }
}
