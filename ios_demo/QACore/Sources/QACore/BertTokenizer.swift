import Foundation

/// The tokenizer settings an artifact's manifest carries (CONTRACTS.md §3, §5).
public struct TokenizerSettings: Sendable, Equatable {
    public var lowercase: Bool
    /// `nil` follows `lowercase`, as in BERT.
    public var stripAccents: Bool?
    public var tokenizeChineseChars: Bool
    public var maxInputCharsPerWord: Int
    public var unknownToken: String
    public var continuingSubwordPrefix: String
    /// Tokens matched verbatim in the raw text before normalization (Hugging Face's added special tokens),
    /// so "[MASK]" in a passage is one token, as the Python tokenizer makes it.
    public var specialTokens: [String]

    public init(
        lowercase: Bool = true,
        stripAccents: Bool? = nil,
        tokenizeChineseChars: Bool = true,
        maxInputCharsPerWord: Int = 100,
        unknownToken: String = "[UNK]",
        continuingSubwordPrefix: String = "##",
        specialTokens: [String] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    ) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.tokenizeChineseChars = tokenizeChineseChars
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.unknownToken = unknownToken
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.specialTokens = specialTokens
    }

    public var effectiveStripAccents: Bool { stripAccents ?? lowercase }
}

/// BERT tokenization as Hugging Face's fast tokenizer does it: BertNormalizer (clean text, pad CJK
/// ideographs, NFD + drop nonspacing marks, lowercase), BertPreTokenizer (split on whitespace, isolate
/// punctuation), WordPiece (greedy longest match, "##" continuations, [UNK] for long or unmatchable words).
///
/// Every normalized scalar remembers the original scalar it came from, so token offsets point into the
/// text the user typed even when normalization inserted, dropped or expanded characters.
public struct BertTokenizer: Sendable {
    public let vocabulary: Vocabulary
    public let settings: TokenizerSettings
    public let unknownId: Int
    private let prefixBytes: [UInt8]
    private let specials: [(scalars: [Unicode.Scalar], id: Int)]

    public init(vocabulary: Vocabulary, settings: TokenizerSettings = TokenizerSettings()) throws {
        guard let unk = vocabulary.id(of: settings.unknownToken) else {
            throw QAError.missingSpecialToken(settings.unknownToken)
        }
        self.vocabulary = vocabulary
        self.settings = settings
        unknownId = unk
        prefixBytes = Array(settings.continuingSubwordPrefix.utf8)
        specials = settings.specialTokens.compactMap { token in
            vocabulary.id(of: token).map { (Array(token.unicodeScalars), $0) }
        }.sorted { $0.scalars.count > $1.scalars.count }  // longest first: leftmost-longest matching
    }

    /// The id of a special token such as "[CLS]", or an error naming it.
    public func requiredId(of token: String) throws -> Int {
        guard let id = vocabulary.id(of: token) else { throw QAError.missingSpecialToken(token) }
        return id
    }

    public func encode(_ text: String) -> Encoding {
        encode(scalars: Array(text.unicodeScalars))
    }

    /// Tokens of `scalars`; offsets are indices into `scalars`.
    public func encode(scalars: [Unicode.Scalar]) -> Encoding {
        var out = Encoding()
        var segmentStart = 0
        var i = 0
        while i < scalars.count {
            if let (length, id) = specialMatch(in: scalars, at: i) {
                encodeSegment(scalars, segmentStart..<i, into: &out)
                out.append(id: id, token: vocabulary.tokens[id], span: CharSpan(i, i + length))
                i += length
                segmentStart = i
            } else {
                i += 1
            }
        }
        encodeSegment(scalars, segmentStart..<scalars.count, into: &out)
        return out
    }

    private func specialMatch(in scalars: [Unicode.Scalar], at i: Int) -> (Int, Int)? {
        for special in specials where i + special.scalars.count <= scalars.count {
            if scalars[i..<(i + special.scalars.count)].elementsEqual(special.scalars) {
                return (special.scalars.count, special.id)
            }
        }
        return nil
    }

    private func encodeSegment(_ scalars: [Unicode.Scalar], _ range: Range<Int>, into out: inout Encoding) {
        guard !range.isEmpty else { return }
        let (normalized, origin) = normalize(scalars, range)
        for word in preTokenize(normalized) {
            wordPiece(normalized, word, origin, into: &out)
        }
    }

    // MARK: BertNormalizer

    /// Normalized scalars of `scalars[range]` and, per normalized scalar, the index of its original scalar.
    func normalize(_ scalars: [Unicode.Scalar], _ range: Range<Int>) -> ([Unicode.Scalar], [Int]) {
        var normalized: [Unicode.Scalar] = []
        var origin: [Int] = []
        normalized.reserveCapacity(range.count)
        origin.reserveCapacity(range.count)
        var cache: [Unicode.Scalar: [Unicode.Scalar]] = [:]
        let space: Unicode.Scalar = " "
        for i in range {
            let s = scalars[i]
            if s.value == 0 || s.value == 0xFFFD || CharacterClasses.isControl(s) { continue }
            if CharacterClasses.isWhitespace(s) {
                normalized.append(space)
                origin.append(i)
                continue
            }
            let padded = settings.tokenizeChineseChars && CharacterClasses.isChineseCharacter(s)
            if padded {
                normalized.append(space)
                origin.append(i)
            }
            if s.isASCII {
                let lowered = settings.lowercase && (0x41...0x5A).contains(s.value)
                normalized.append(lowered ? Unicode.Scalar(s.value + 0x20)! : s)
                origin.append(i)
            } else {
                let mapped: [Unicode.Scalar]
                if let hit = cache[s] {
                    mapped = hit
                } else {
                    mapped = transform(s)
                    cache[s] = mapped
                }
                for m in mapped {
                    normalized.append(m)
                    origin.append(i)
                }
            }
            if padded {
                normalized.append(space)
                origin.append(i)
            }
        }
        return (normalized, origin)
    }

    /// Accent stripping (NFD, then drop Mn) followed by lowercasing, in the order of the Rust normalizer.
    private func transform(_ s: Unicode.Scalar) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = [s]
        if settings.effectiveStripAccents {
            var single = ""
            single.unicodeScalars.append(s)
            result = single.decomposedStringWithCanonicalMapping.unicodeScalars.filter {
                !CharacterClasses.isNonspacingMark($0)
            }
        }
        if settings.lowercase {
            result = result.flatMap { Array($0.properties.lowercaseMapping.unicodeScalars) }
        }
        return result
    }

    // MARK: BertPreTokenizer

    /// Word ranges in `normalized`: split on whitespace (dropped) and punctuation (kept, one per word).
    func preTokenize(_ normalized: [Unicode.Scalar]) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var start: Int? = nil
        for (i, s) in normalized.enumerated() {
            if CharacterClasses.isWhitespace(s) {
                if let st = start { words.append(st..<i) }
                start = nil
            } else if CharacterClasses.isPunctuation(s) {
                if let st = start { words.append(st..<i) }
                words.append(i..<(i + 1))
                start = nil
            } else if start == nil {
                start = i
            }
        }
        if let st = start { words.append(st..<normalized.count) }
        return words
    }

    // MARK: WordPiece

    private func wordPiece(_ normalized: [Unicode.Scalar], _ word: Range<Int>, _ origin: [Int], into out: inout Encoding) {
        func span(_ r: Range<Int>) -> CharSpan { CharSpan(origin[r.lowerBound], origin[r.upperBound - 1] + 1) }
        if word.count > settings.maxInputCharsPerWord {
            out.append(id: unknownId, token: vocabulary.tokens[unknownId], span: span(word))
            return
        }
        var pieces: [(Int, Range<Int>)] = []
        var start = word.lowerBound
        while start < word.upperBound {
            var end = word.upperBound
            var found: Int? = nil
            while start < end {
                var key: [UInt8] = start > word.lowerBound ? prefixBytes : []
                for s in normalized[start..<end] { key.append(contentsOf: s.utf8Bytes) }
                if let id = vocabulary.id(utf8: key) {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                out.append(id: unknownId, token: vocabulary.tokens[unknownId], span: span(word))
                return
            }
            pieces.append((id, start..<end))
            start = end
        }
        for (id, r) in pieces {
            out.append(id: id, token: vocabulary.tokens[id], span: span(r))
        }
    }
}

extension Unicode.Scalar {
    var utf8Bytes: [UInt8] { Array(UTF8.encode(self)!) }
}
