/// String operations on Unicode scalars. Swift's `String` compares and slices by grapheme
/// cluster (a `#` followed by a skin-tone modifier or a combining vowel sign is one Character),
/// while tokenizers work on code points; these helpers never merge or split differently.
extension String {
    init(scalarValues: some Sequence<Unicode.Scalar>) {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalarValues)
        self = String(v)
    }

    func hasScalarPrefix(_ p: String) -> Bool {
        var it = unicodeScalars.makeIterator()
        for s in p.unicodeScalars { guard it.next() == s else { return false } }
        return true
    }

    func hasScalarSuffix(_ p: String) -> Bool {
        var it = unicodeScalars.reversed().makeIterator()
        for s in p.unicodeScalars.reversed() { guard it.next() == s else { return false } }
        return true
    }

    func droppingScalars(first: Int = 0, last: Int = 0) -> String {
        let s = Array(unicodeScalars)
        guard first + last < s.count else { return "" }
        return String(scalarValues: s[first..<(s.count - last)])
    }

    /// Replaces every non-overlapping occurrence of `target` (left to right), comparing scalars.
    func replacingScalars(_ target: String, with replacement: String) -> String {
        let t = Array(target.unicodeScalars)
        guard !t.isEmpty else { return self }
        let s = Array(unicodeScalars)
        guard s.count >= t.count else { return self }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        var changed = false
        while i < s.count {
            if i + t.count <= s.count && s[i] == t[0] && Array(s[i..<(i + t.count)]) == t {
                out.append(contentsOf: replacement.unicodeScalars); i += t.count; changed = true
            } else { out.append(s[i]); i += 1 }
        }
        return changed ? String(scalarValues: out) : self
    }
}
