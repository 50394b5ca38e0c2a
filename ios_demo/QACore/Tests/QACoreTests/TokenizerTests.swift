import XCTest
@testable import QACore

final class TokenizerTests: XCTestCase {
    func testWordPieceSplitsLongestMatchFirstWithContinuationPrefix() throws {
        let e = try smallTokenizer().encode("unaffable")
        XCTAssertEqual(e.tokens, ["un", "##aff", "##able"])
        XCTAssertEqual(e.offsets, [CharSpan(0, 2), CharSpan(2, 5), CharSpan(5, 9)])
    }

    func testUnmatchableWordIsOneUnknownCoveringTheWord() throws {
        let e = try smallTokenizer().encode("hello unaffablez world")
        XCTAssertEqual(e.tokens, ["hello", "[UNK]", "world"])
        XCTAssertEqual(e.offsets[1], CharSpan(6, 16))
    }

    func testWordsLongerThanTheLimitAreUnknown() throws {
        let tok = try smallTokenizer()
        let hundred = tok.encode(String(repeating: "ab", count: 50))
        XCTAssertEqual(hundred.tokens, ["ab"] + Array(repeating: "##ab", count: 49), "100 chars is still allowed")
        XCTAssertEqual(tok.encode("x" + String(repeating: "ab", count: 50)).tokens, ["[UNK]"])
        var settings = TokenizerSettings()
        settings.maxInputCharsPerWord = 3
        XCTAssertEqual(try smallTokenizer(settings).encode("abab ab").tokens, ["[UNK]", "ab"])
    }

    func testPunctuationIsSplitOffAndOffsetsPointIntoTheOriginal() throws {
        let e = try smallTokenizer().encode("Hello, world!?")
        XCTAssertEqual(e.tokens, ["hello", ",", "world", "!", "?"])
        XCTAssertEqual(e.offsets, [CharSpan(0, 5), CharSpan(5, 6), CharSpan(7, 12), CharSpan(12, 13), CharSpan(13, 14)])
        // Unicode punctuation (P* categories) splits too: « » and the em dash.
        XCTAssertEqual(try smallTokenizer().encode("«a»—b").tokens, ["[UNK]", "a", "[UNK]", "[UNK]", "b"])
    }

    func testLowercaseStripsAccentsByDefaultAndOffsetsSurviveDecomposition() throws {
        // "Zoë" with a precomposed ë and "Cafe\u{301}" with a combining accent: both normalize to plain letters.
        let text = "Zoë Cafe\u{301} crème"
        let e = try smallTokenizer().encode(text)
        XCTAssertEqual(e.tokens, ["zoe", "cafe", "creme"])
        // A dropped combining accent belongs to no token (as in the Rust tokenizer); a precomposed one does.
        XCTAssertEqual(e.offsets, [CharSpan(0, 3), CharSpan(4, 8), CharSpan(10, 15)])
        XCTAssertEqual(scalars(text.substring(scalars: e.offsets[2])), scalars("crème"))
    }

    func testAccentsAreKeptWhenStripAccentsIsFalse() throws {
        let keep = try smallTokenizer(TokenizerSettings(lowercase: true, stripAccents: false))
        XCTAssertEqual(keep.encode("Café").tokens, ["café"])
        let cased = try smallTokenizer(TokenizerSettings(lowercase: false))
        XCTAssertEqual(cased.encode("Hello Zoë hello").tokens, ["Hello", "Zoë", "hello"], "no lowercasing, no stripping")
        let casedStrip = try smallTokenizer(TokenizerSettings(lowercase: false, stripAccents: true))
        XCTAssertEqual(casedStrip.encode("naïve").tokens, ["naive"])
    }

    func testCJKIdeographsBecomeOneTokenEachUnlessDisabled() throws {
        let e = try smallTokenizer().encode("x寿司y")
        XCTAssertEqual(e.tokens, ["x", "寿", "司", "y"])
        XCTAssertEqual(e.offsets, [CharSpan(0, 1), CharSpan(1, 2), CharSpan(2, 3), CharSpan(3, 4)])
        let off = try smallTokenizer(TokenizerSettings(tokenizeChineseChars: false))
        XCTAssertEqual(off.encode("x寿司y").tokens, ["[UNK]"])
    }

    func testControlCharactersVanishAndWhitespaceSplits() throws {
        let tok = try smallTokenizer()
        // \0, U+FFFD, a zero-width joiner (Cf) and a soft hyphen (Cf) are dropped: the word stays whole.
        XCTAssertEqual(tok.encode("a\u{0}b").tokens, ["ab"])
        XCTAssertEqual(tok.encode("a\u{FFFD}\u{200D}\u{AD}b").tokens, ["ab"])
        // tab, newline, no-break space, ideographic space, line separator: word breaks.
        let e = tok.encode("a\tb\nab\u{A0}x\u{3000}y\u{2028}a")
        XCTAssertEqual(e.tokens, ["a", "b", "ab", "x", "y", "a"])
        XCTAssertEqual(e.offsets.last, CharSpan(11, 12))
        XCTAssertTrue(tok.encode(" \t\u{0}\u{200B} ").isEmpty)
    }

    func testOffsetsCountCodePointsNotUTF16() throws {
        // The emoji is two UTF-16 units but one code point; [UNK] covers exactly it.
        let e = try smallTokenizer().encode("🍜 paris")
        XCTAssertEqual(e.tokens, ["[UNK]", "paris"])
        XCTAssertEqual(e.offsets, [CharSpan(0, 1), CharSpan(2, 7)])
    }

    func testSpecialTokensInTheRawTextStayWhole() throws {
        let e = try smallTokenizer().encode("what is [MASK]? a[SEP]b [mask]")
        XCTAssertEqual(e.tokens, ["what", "is", "[MASK]", "?", "a", "[SEP]", "b", "[UNK]", "[UNK]", "[UNK]"])
        XCTAssertEqual(e.offsets[2], CharSpan(8, 14))
        XCTAssertEqual(e.offsets[5], CharSpan(17, 22))
    }

    func testVocabularyParsesLinesByteExactly() throws {
        let v = Vocabulary(text: "[PAD]\r\n[UNK]\ne\u{301}\n\u{E9}\n")
        XCTAssertEqual(v.count, 4, "no empty token after the final newline")
        XCTAssertEqual(v.id(of: "[UNK]"), 1, "\\r\\n line ends")
        XCTAssertEqual(v.id(of: "e\u{301}"), 2, "decomposed and precomposed é are different tokens")
        XCTAssertEqual(v.id(of: "\u{E9}"), 3)
    }

    func testTokenizerNeedsAnUnknownToken() {
        XCTAssertThrowsError(try BertTokenizer(vocabulary: Vocabulary(tokens: ["a"]))) { error in
            XCTAssertEqual(error as? QAError, .missingSpecialToken("[UNK]"))
        }
    }
}
