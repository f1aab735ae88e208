import Foundation

/// A Unicode normalization form (UAX #15).
public enum UnicodeForm: String, Sendable {
    case nfc = "NFC", nfd = "NFD", nfkc = "NFKC", nfkd = "NFKD"

    /// Scalars below this value are unchanged by the form and never combine with what precedes them.
    var stableBelow: UInt32 {
        switch self {
        case .nfc: return 0x300
        case .nfd: return 0xC0
        case .nfkc, .nfkd: return 0xA0
        }
    }

    func apply(_ s: String) -> String {
        switch self {
        case .nfc: return s.precomposedStringWithCanonicalMapping
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        }
    }
}

extension TextBuffer {
    /// Normalizes to `form`, one grapheme cluster at a time. Output scalar k of a cluster takes the
    /// alignment of input scalar min(k, n-1), as HF's alignment-tracking normalization does
    /// (a composed character keeps its first component's alignment, inserted ones the previous).
    func unicodeNormalized(_ form: UnicodeForm) -> TextBuffer {
        let limit = form.stableBelow
        var allStable = true
        for v in scalars where v >= limit { allStable = false; break }
        if allStable { return self }

        var out = TextBuffer(reservingCapacity: count + 8)
        var view = String.UnicodeScalarView()
        for v in scalars { view.append(Unicode.Scalar(v) ?? "\u{FFFD}") }
        let string = String(view)
        var index = 0
        for character in string {
            let clusterScalars = character.unicodeScalars
            let n = clusterScalars.count
            var stable = true
            for s in clusterScalars where s.value >= limit { stable = false; break }
            if stable {
                out.append(from: self, range: index..<(index + n))
            } else {
                let normalized = form.apply(String(character)).unicodeScalars
                var k = 0
                for s in normalized {
                    let i = index + min(k, n - 1)
                    out.append(s.value, start: starts[i], end: ends[i])
                    k += 1
                }
            }
            index += n
        }
        return out
    }

    /// Lowercases every scalar (Unicode full lowercase mapping, no context), keeping alignments.
    func lowercased() -> TextBuffer {
        var out = self
        var needsSlow = false
        for i in 0..<count {
            let v = scalars[i]
            if v < 128 {
                if v >= 65 && v <= 90 { out.scalars[i] = v + 32 }
            } else { needsSlow = true; break }
        }
        if !needsSlow { return out }
        out = TextBuffer(reservingCapacity: count)
        for i in 0..<count {
            let v = scalars[i]
            if v < 128 {
                out.append(v >= 65 && v <= 90 ? v + 32 : v, start: starts[i], end: ends[i])
            } else if let s = Unicode.Scalar(v), s.properties.changesWhenLowercased {
                for l in s.properties.lowercaseMapping.unicodeScalars { out.append(l.value, start: starts[i], end: ends[i]) }
            } else {
                out.append(from: self, i)
            }
        }
        return out
    }
}
