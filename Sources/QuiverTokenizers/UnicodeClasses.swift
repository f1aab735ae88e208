/// Character classes used by the normalizers and pre-tokenizers, on Unicode scalars.
/// ASCII is answered from a table; other scalars from the standard library's Unicode properties.
enum UnicodeClass {
    /// Unicode White_Space (Rust `char::is_whitespace`, regex `\s`).
    @inline(__always) static func isWhitespace(_ v: UInt32) -> Bool {
        if v < 128 { return v == 32 || (v >= 9 && v <= 13) }
        return Unicode.Scalar(v)?.properties.isWhitespace ?? false
    }

    /// General category L* (regex `\p{L}`).
    @inline(__always) static func isLetter(_ v: UInt32) -> Bool {
        if v < 128 { let l = v | 0x20; return l >= 97 && l <= 122 }
        guard let s = Unicode.Scalar(v) else { return false }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// General category N* (regex `\p{N}`, Rust `char::is_numeric`).
    @inline(__always) static func isNumber(_ v: UInt32) -> Bool {
        if v < 128 { return v >= 48 && v <= 57 }
        guard let s = Unicode.Scalar(v) else { return false }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Unicode punctuation (P*) or ASCII punctuation, as BERT splits it.
    @inline(__always) static func isBertPunctuation(_ v: UInt32) -> Bool {
        if v < 128 { return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126) }
        guard let s = Unicode.Scalar(v) else { return false }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// BERT's control test: Cc, Cf, Co, Cs (not Cn) except tab, newline and carriage return.
    @inline(__always) static func isBertControl(_ v: UInt32) -> Bool {
        if v == 9 || v == 10 || v == 13 { return false }
        if v < 128 { return v < 32 || v == 127 }
        guard let s = Unicode.Scalar(v) else { return true }
        switch s.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true  // not unassigned (Cn), as HF
        default: return false
        }
    }

    /// BERT's whitespace test: tab, newline, carriage return and White_Space.
    @inline(__always) static func isBertWhitespace(_ v: UInt32) -> Bool {
        v == 9 || v == 10 || v == 13 || isWhitespace(v)
    }

    /// The CJK ideograph blocks that BERT surrounds with spaces.
    @inline(__always) static func isChineseChar(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2A6DF)
            || (v >= 0x2A700 && v <= 0x2B73F) || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B920 && v <= 0x2CEAF)
            || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
    }

    /// Nonspacing mark (Mn), removed by StripAccents.
    @inline(__always) static func isNonspacingMark(_ v: UInt32) -> Bool {
        if v < 0x300 { return false }
        return Unicode.Scalar(v)?.properties.generalCategory == .nonspacingMark
    }

    /// Regex `\w` (Unicode word character: alphabetic, marks, decimal digits, connector punctuation, joiners).
    @inline(__always) static func isWord(_ v: UInt32) -> Bool {
        if v < 128 { let l = v | 0x20; return (l >= 97 && l <= 122) || (v >= 48 && v <= 57) || v == 95 }
        guard let s = Unicode.Scalar(v) else { return false }
        if v == 0x200C || v == 0x200D { return true }
        let p = s.properties
        if p.isAlphabetic { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }
}

/// GPT-2's reversible byte ↔ printable character table used by ByteLevel.
enum ByteLevelTable {
    /// `byteToScalar[b]` is the printable scalar that stands for byte `b`.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var printable = [Bool](repeating: false, count: 256)
        for b in 33...126 { printable[b] = true }
        for b in 161...172 { printable[b] = true }
        for b in 174...255 { printable[b] = true }
        var n: UInt32 = 0
        for b in 0..<256 {
            if printable[b] { table[b] = UInt32(b) } else { table[b] = 256 + n; n += 1 }
        }
        return table
    }()

    /// The inverse table (scalar value → byte), -1 where the scalar is not a byte symbol.
    static let scalarToByte: [Int16] = {
        var t = [Int16](repeating: -1, count: 512)
        for (b, s) in byteToScalar.enumerated() { t[Int(s)] = Int16(b) }
        return t
    }()

    /// The byte symbols in the order of `bytes_to_unicode().values()` (printable bytes first, then the others).
    static let symbolOrder: [UInt32] = {
        var order: [UInt32] = []
        var rest: [UInt32] = []
        for b in 0..<256 {
            let s = byteToScalar[b]
            if s == UInt32(b) { order.append(s) } else { rest.append(s) }
        }
        return order + rest
    }()
}
