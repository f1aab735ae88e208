import Foundation

/// A Unicode normalization form (UAX #15): `nfc` canonical composition, `nfd` canonical decomposition,
/// `nfkc` / `nfkd` the same with compatibility mappings (e.g. `ﬁ` → `fi`, full-width → ASCII). The raw values are
/// the normalizer `type` names of tokenizer.json.
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
    /// Normalizes to `form`, one grapheme cluster at a time, with HF's alignment rules: every
    /// scalar decomposes on its own (the first piece "consumes" the original scalar, the others
    /// are insertions), canonical reordering moves pieces with their marks, composition merges a
    /// mark into its starter (the composed scalar then also skips one original scalar), and the
    /// alignments are assigned walking the result: a consuming scalar takes the next original
    /// scalar's alignment, an inserted one the previous. When the result differs from Foundation's
    /// normalization of the cluster, position-wise alignment is used instead.
    func unicodeNormalized(_ form: UnicodeForm) -> TextBuffer {
        let limit = form.stableBelow
        var allStable = true
        for v in scalars where v >= limit { allStable = false; break }
        if allStable { return self }

        let decomposition: UnicodeForm = (form == .nfc || form == .nfd) ? .nfd : .nfkd
        let composes = form == .nfc || form == .nfkc
        var out = TextBuffer(reservingCapacity: count + 8)
        var view = String.UnicodeScalarView()
        for v in scalars { view.append(Unicode.Scalar(v) ?? "\u{FFFD}") }
        let string = String(view)
        var index = 0
        var pieces: [(UInt32, Int)] = []
        for character in string {
            let clusterScalars = character.unicodeScalars
            let n = clusterScalars.count
            var stable = true
            for s in clusterScalars where s.value >= limit { stable = false; break }
            if stable {
                out.append(from: self, range: index..<(index + n))
                index += n
                continue
            }
            let normalized = Array(form.apply(String(character)).unicodeScalars)
            pieces.removeAll(keepingCapacity: true)
            for i in index..<(index + n) {
                let v = scalars[i]
                if v < decomposition.stableBelow {
                    pieces.append((v, 0))
                } else {
                    var change = 0
                    for d in decomposition.apply(String(Unicode.Scalar(v)!)).unicodeScalars { pieces.append((d.value, change)); change = 1 }
                }
            }
            Self.canonicalReorder(&pieces)
            if composes { Self.compose(&pieces) }
            if pieces.count == normalized.count && zip(pieces, normalized).allSatisfy({ $0.0 == $1.value }) {
                var offset = index
                let last = index + n - 1
                for (v, change) in pieces {
                    if change > 0 {
                        let i = max(index, min(offset - 1, last))
                        out.append(v, start: starts[i], end: ends[i])
                    } else {
                        let i = min(offset, last)
                        out.append(v, start: starts[i], end: ends[i])
                        offset += 1 - change
                    }
                }
            } else {
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

    private static func ccc(_ v: UInt32) -> UInt8 {
        v < 0x300 ? 0 : (Unicode.Scalar(v)?.properties.canonicalCombiningClass.rawValue ?? 0)
    }

    /// Canonical composition of decomposed, reordered pieces; a mark merged into its starter
    /// leaves the starter's change lowered by one (it stands for one more original scalar).
    static func compose(_ pieces: inout [(UInt32, Int)]) {
        guard pieces.count > 1 else { return }
        var result: [(UInt32, Int)] = []
        result.reserveCapacity(pieces.count)
        var starter = -1
        var lastClass = 0
        for (v, change) in pieces {
            let c = Int(ccc(v))
            if starter >= 0 {
                let adjacent = result.count - 1 == starter
                if adjacent || (lastClass != 0 && lastClass < c), let composite = composite(result[starter].0, v) {
                    result[starter].0 = composite
                    result[starter].1 += change - 1
                    continue
                }
            }
            if c == 0 { starter = result.count; lastClass = 0 } else { lastClass = c }
            result.append((v, change))
        }
        pieces = result
    }

    /// The primary composite of two scalars, if any (Foundation's NFC of the pair).
    private static func composite(_ a: UInt32, _ b: UInt32) -> UInt32? {
        guard let x = Unicode.Scalar(a), let y = Unicode.Scalar(b) else { return nil }
        var v = String.UnicodeScalarView()
        v.append(x); v.append(y)
        let r = String(v).precomposedStringWithCanonicalMapping.unicodeScalars
        return r.count == 1 ? r.first!.value : nil
    }

    /// Stable sort of each run of non-starters by canonical combining class (UAX #15 reordering).
    static func canonicalReorder(_ pieces: inout [(UInt32, Int)]) {
        guard pieces.count > 1 else { return }
        var swapped = true
        while swapped {
            swapped = false
            for k in 1..<pieces.count {
                let a = ccc(pieces[k - 1].0), b = ccc(pieces[k].0)
                if b != 0 && a > b { pieces.swapAt(k - 1, k); swapped = true }
            }
        }
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
