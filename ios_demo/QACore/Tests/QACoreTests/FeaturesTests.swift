import XCTest
@testable import QACore

final class FeaturesTests: XCTestCase {
    func testWindowLayoutIdsTypesMaskAndOffsets() throws {
        let tok = try smallTokenizer()
        let f = try QAFeatures(tokenizer: tok, question: "What is it?", context: "Paris, France",
                               settings: FeatureSettings(maxSeqLen: 12, docStride: 2))
        XCTAssertEqual(f.windows.count, 1)
        let w = f.windows[0]
        let v = tok.vocabulary
        let id = { (t: String) in Int32(v.id(of: t)!) }
        // [CLS] what is it ? [SEP] paris , france [SEP] [PAD] [PAD]
        XCTAssertEqual(w.inputIds, [2, id("what"), id("is"), id("it"), id("?"), 3, id("paris"), id(","), id("france"), 3, 0, 0])
        XCTAssertEqual(w.attentionMask, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
        XCTAssertEqual(w.tokenTypeIds, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0])
        XCTAssertEqual(w.contextStart, 6)
        XCTAssertEqual(w.contextEnd, 9)
        XCTAssertEqual(w.docTokenStart, 0)
        XCTAssertEqual(w.offsets, [nil, nil, nil, nil, nil, nil, CharSpan(0, 5), CharSpan(5, 6), CharSpan(7, 13), nil, nil, nil])
    }

    func testWindowsAdvanceByCapacityMinusStrideUntilTheEnd() throws {
        XCTAssertEqual(try EncodedPair.windowStarts(contextCount: 10, capacity: 4, docStride: 1, maxSeqLen: 8, questionCount: 1),
                       [0, 3, 6], "windows [0,4) [3,7) [6,10): overlap of doc_stride tokens")
        XCTAssertEqual(try EncodedPair.windowStarts(contextCount: 4, capacity: 4, docStride: 9, maxSeqLen: 8, questionCount: 1),
                       [0], "one window fits: the stride does not matter")
        XCTAssertEqual(try EncodedPair.windowStarts(contextCount: 11, capacity: 4, docStride: 2, maxSeqLen: 8, questionCount: 1),
                       [0, 2, 4, 6, 8])

        let tok = try smallTokenizer()
        let context = "a b a b a b a b a b"  // 10 tokens
        let f = try QAFeatures(tokenizer: tok, question: "x", context: context,
                               settings: FeatureSettings(maxSeqLen: 8, docStride: 1))  // cap = 8 - 1 - 3 = 4
        XCTAssertEqual(f.windows.map(\.docTokenStart), [0, 3, 6])
        XCTAssertEqual(f.windows.map(\.contextEnd), [7, 7, 7])
        XCTAssertEqual(f.windows[2].offsets[3], CharSpan(12, 13), "window 2 starts at context token 6")
    }

    func testQuestionIsTruncatedToMaxQueryLen() throws {
        let f = try QAFeatures(tokenizer: try smallTokenizer(), question: "a b a b a b", context: "paris",
                               settings: FeatureSettings(maxSeqLen: 16, docStride: 2, maxQueryLen: 4))
        XCTAssertEqual(f.pair.question.tokens, ["a", "b", "a", "b"])
        XCTAssertEqual(f.windows[0].contextStart, 6)
    }

    func testEmptyInputsAreReportedInPythonsOrder() throws {
        let tok = try smallTokenizer()
        func code(_ q: String, _ c: String) -> String? {
            do {
                _ = try QAFeatures(tokenizer: tok, question: q, context: c)
                return nil
            } catch {
                return (error as? QAError)?.code
            }
        }
        XCTAssertEqual(code(" \n\t", "paris"), "empty_question")
        XCTAssertEqual(code("what", "\u{3000} \u{1C}"), "empty_context")
        // A question of control characters is not whitespace, so a blank context is reported first (as qa.py does).
        XCTAssertEqual(code("\u{0}\u{200B}", "  "), "empty_context")
        XCTAssertEqual(code("\u{0}\u{200B}", "paris"), "empty_question")
        XCTAssertEqual(code("what", "\u{0}"), "empty_context")
        XCTAssertNil(code("what", "paris"))
    }

    func testWindowsThatCannotAdvanceOrHoldNothingAreErrors() throws {
        let tok = try smallTokenizer()
        XCTAssertThrowsError(try QAFeatures(tokenizer: tok, question: "a b a b", context: "paris",
                                            settings: FeatureSettings(maxSeqLen: 7, docStride: 1))) { error in
            XCTAssertEqual(error as? QAError, .noRoomForContext(maxSeqLen: 7, questionTokens: 4))
        }
        XCTAssertThrowsError(try QAFeatures(tokenizer: tok, question: "x", context: "a b a b a b",
                                            settings: FeatureSettings(maxSeqLen: 8, docStride: 4))) { error in
            XCTAssertEqual(error as? QAError, .strideTooLarge(capacity: 4, docStride: 4))
        }
    }

    func testSmallestSequenceLengthThatFitsElseTheLongest() throws {
        XCTAssertEqual(try SequenceLengthPicker.pick(needed: 100, available: [384, 128, 256]), 128)
        XCTAssertEqual(try SequenceLengthPicker.pick(needed: 128, available: [384, 128]), 128)
        XCTAssertEqual(try SequenceLengthPicker.pick(needed: 500, available: [128, 384]), 384)
        XCTAssertThrowsError(try SequenceLengthPicker.pick(needed: 5, available: []))
    }
}
