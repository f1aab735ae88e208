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
    /// Normalizes to `form`, one grapheme cluster at a time, tracking alignments as HF's
    /// alignment-aware normalization does: each scalar decomposes on its own (every piece of a
    /// decomposition keeps that scalar's alignment), and a composed scalar keeps the alignment of
    /// the first scalar it was composed from. Clusters where canonical reordering or blocked
    /// composition breaks this correspondence fall back to position-wise alignment.
    func unicodeNormalized(_ form: UnicodeForm) -> TextBuffer {
        let limit = form.stableBelow
        var allStable = true
        for v in scalars where v >= limit { allStable = false; break }
        if allStable { return self }

        let decomposition: UnicodeForm = (form == .nfc || form == .nfd) ? .nfd : .nfkd
        var out = TextBuffer(reservingCapacity: count + 8)
        var view = String.UnicodeScalarView()
        for v in scalars { view.append(Unicode.Scalar(v) ?? "\u{FFFD}") }
        let string = String(view)
        var index = 0
        var pieces: [(UInt32, Bool)] = []
        var decomposed: [(UInt32, Int32, Int32, Bool)] = []
        var composed: [(UInt32, Int32, Int32)] = []
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
            // Decompose scalar by scalar, marking the first piece of each decomposition (it
            // "consumes" one original scalar) and the inserted rest; canonical reordering moves the
            // marks with the scalars; alignments are then assigned in consumption order (as HF).
            pieces.removeAll(keepingCapacity: true)
            for i in index..<(index + n) {
                let v = scalars[i]
                if v < decomposition.stableBelow {
                    pieces.append((v, true))
                } else {
                    var first = true
                    for d in decomposition.apply(String(Unicode.Scalar(v)!)).unicodeScalars { pieces.append((d.value, first)); first = false }
                }
            }
            if form == .nfd || form == .nfkd { Self.canonicalReorder(&pieces) }
            decomposed.removeAll(keepingCapacity: true)
            var consumed = index
            for (v, consumes) in pieces {
                let i = consumes ? min(consumed, index + n - 1) : max(index, consumed - 1)
                decomposed.append((v, starts[i], ends[i], consumes))
                if consumes { consumed += 1 }
            }
            var aligned = false
            if form == .nfd || form == .nfkd {
                if decomposed.count == normalized.count && zip(decomposed, normalized).allSatisfy({ $0.0 == $1.value }) {
                    for (v, s, e, _) in decomposed { out.append(v, start: s, end: e) }
                    aligned = true
                }
            } else {
                composed.removeAll(keepingCapacity: true)
                var pos = 0
                for o in normalized {
                    guard pos < decomposed.count else { break }
                    // A composed scalar takes the alignment of its first component that consumed an
                    // original scalar (an inserted first piece defers to the next one).
                    let len = o.value < 0xC0 ? 1 : UnicodeForm.nfd.apply(String(o)).unicodeScalars.count
                    var pick = pos
                    for k in pos..<min(pos + len, decomposed.count) where decomposed[k].3 { pick = k; break }
                    composed.append((o.value, decomposed[pick].1, decomposed[pick].2))
                    pos += len
                }
                if composed.count == normalized.count && pos == decomposed.count {
                    for (v, s, e) in composed { out.append(v, start: s, end: e) }
                    aligned = true
                }
            }
            if !aligned {
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

    /// Stable sort of each run of non-starters by canonical combining class (UAX #15 reordering).
    static func canonicalReorder(_ pieces: inout [(UInt32, Bool)]) {
        func ccc(_ v: UInt32) -> UInt8 { v < 0x300 ? 0 : (Unicode.Scalar(v)?.properties.canonicalCombiningClass.rawValue ?? 0) }
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
