// Character classes of Hugging Face's BertNormalizer / BertPreTokenizer (the Rust `tokenizers` crate that
// pocketbert/core/qa.py runs), scalar by scalar. They come from UnicodeTables.swift, measured from that
// tokenizer, rather than from `Unicode.Scalar.Properties`: the crate's Unicode data is older than Swift's
// (about 660 characters differ) and an app's Swift runtime has the Unicode data of the phone's OS.

enum CharacterClasses {
    /// Dropped when cleaning: control/format/private-use characters (not tab, newline, carriage return).
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        contains(UnicodeTables.control, s.value)
    }

    /// Turned into a space when cleaning (after control characters are gone); also splits words.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s.value == 0x0A || s.value == 0x0D || contains(UnicodeTables.whitespace, s.value)
    }

    /// ASCII non-alphanumerics (33-47, 58-64, 91-96, 123-126) and Unicode P* categories.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        contains(UnicodeTables.punctuation, s.value)
    }

    /// Nonspacing marks (Mn), dropped after NFD when accents are stripped.
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        contains(UnicodeTables.nonspacingMark, s.value)
    }

    /// CJK ideographs that get spaces around them (the ranges of the `tokenizers` crate; note 0x2B920, where
    /// the old Python BasicTokenizer says 0x2B820).
    static func isChineseCharacter(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// Python's `str.isspace()` (Zs, or bidi class WS/B/S): what `question.strip()` removes in qa.py,
    /// so an input made only of these is reported as empty before it is tokenized.
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Binary search in sorted, disjoint ranges.
    static func contains(_ table: [ClosedRange<UInt32>], _ v: UInt32) -> Bool {
        var lo = 0
        var hi = table.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if table[mid].upperBound < v {
                lo = mid + 1
            } else if table[mid].lowerBound > v {
                hi = mid
            } else {
                return true
            }
        }
        return false
    }
}
