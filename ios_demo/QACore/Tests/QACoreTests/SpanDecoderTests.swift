import XCTest
@testable import QACore

final class SpanDecoderTests: XCTestCase {
    /// "[CLS] x [SEP] <context tokens> [SEP] [PAD]..." with logits 0 everywhere but the given peaks.
    private func features(_ context: String, maxSeqLen: Int = 16, docStride: Int = 2) throws -> QAFeatures {
        try QAFeatures(tokenizer: try smallTokenizer(), question: "x", context: context,
                       settings: FeatureSettings(maxSeqLen: maxSeqLen, docStride: docStride))
    }

    private func logits(_ f: QAFeatures, _ peaks: [(window: Int, position: Int, value: Double)]) -> [[Double]] {
        var l = f.windows.map { [Double](repeating: 0, count: $0.sequenceLength) }
        for p in peaks { l[p.window][p.position] = p.value }
        return l
    }

    func testPeaksOutsideTheContextAreIgnored() throws {
        let f = try features("the capital of france is paris")  // context tokens at positions 3...8
        // Loud decoys on the question token (1), [SEP] (9) and padding (12); the real answer "paris" at 8.
        let start = logits(f, [(0, 1, 20), (0, 9, 20), (0, 12, 20), (0, 8, 6)])
        let end = logits(f, [(0, 1, 20), (0, 12, 20), (0, 8, 6)])
        let a = try SpanDecoder.bestSpan(features: f, startLogits: start, endLogits: end)
        XCTAssertEqual(a.text, "paris")
        XCTAssertEqual(a.span, CharSpan(25, 30))
        XCTAssertEqual(a.startToken, 8)
        XCTAssertEqual(a.endToken, 8)
        // score = p_start * p_end, softmax over the context positions only (others get -10000).
        let p = exp(6.0) / (exp(6.0) + 5)
        XCTAssertEqual(a.score, p * p, accuracy: 1e-12)
    }

    func testEndBeforeStartAndTooLongSpansAreRejected() throws {
        let f = try features("the capital of france is paris")
        // Best start after best end: the decoder must pair differently.
        let start = logits(f, [(0, 7, 9), (0, 4, 5)])
        let end = logits(f, [(0, 5, 9), (0, 8, 2)])
        let a = try SpanDecoder.bestSpan(features: f, startLogits: start, endLogits: end)
        XCTAssertLessThanOrEqual(a.startToken, a.endToken)
        XCTAssertEqual([a.startToken, a.endToken], [4, 5], "capital of")
        // Max answer length 1: only single-token spans.
        let one = try SpanDecoder.bestSpan(features: f, startLogits: start, endLogits: end,
                                           settings: DecodeSettings(maxAnswerLen: 1))
        XCTAssertEqual(one.startToken, one.endToken)
    }

    func testOnlyTheTopKStartsAndEndsArePaired() throws {
        let f = try features("the capital of france is paris")
        let start = logits(f, [(0, 8, 9), (0, 3, 8)])
        let end = logits(f, [(0, 5, 9), (0, 3, 8)])
        // top_k 1: start 8, end 5 -> no valid pair at all.
        let none = try SpanDecoder.bestSpan(features: f, startLogits: start, endLogits: end, settings: DecodeSettings(topK: 1))
        XCTAssertEqual(none, .none)
        XCTAssertFalse(none.found)
        let two = try SpanDecoder.bestSpan(features: f, startLogits: start, endLogits: end, settings: DecodeSettings(topK: 2))
        XCTAssertEqual([two.startToken, two.endToken], [3, 5])
    }

    func testExactTiesGoToTheEarlierWindowThenStartThenEnd() throws {
        let f = try features("a b a b a b a b a b", maxSeqLen: 8, docStride: 1)  // windows at context tokens 0, 3, 6
        XCTAssertEqual(f.windows.count, 3)
        // The same token (context index 3) is position 6 in window 0 and position 3 in window 1: equal scores.
        let start = logits(f, [(0, 6, 10), (1, 3, 10)])
        let end = logits(f, [(0, 6, 10), (1, 3, 10)])
        let a = try SpanDecoder.bestSpan(features: f, startLogits: start, endLogits: end)
        XCTAssertEqual(a.window, 0)
        XCTAssertEqual(a.span, CharSpan(6, 7))
        // All-equal logits in one window: the earliest start and end win.
        let flat = f.windows.map { [Double](repeating: 0, count: $0.sequenceLength) }
        let b = try SpanDecoder.bestSpan(features: f, startLogits: flat, endLogits: flat)
        XCTAssertEqual([b.window, b.startToken, b.endToken], [0, 3, 3])
    }

    func testAnswerTextIsCutByCodePoints() throws {
        let context = "🍜🍜 e\u{301} paris"  // two astral emoji and a combining accent before the answer
        let f = try features(context)
        let pos = f.windows[0].contextEnd - 1
        let l = logits(f, [(0, pos, 10)])
        let a = try SpanDecoder.bestSpan(features: f, startLogits: l, endLogits: l)
        XCTAssertEqual(a.span, CharSpan(6, 11))
        XCTAssertEqual(a.text, "paris")
        XCTAssertEqual(context[context.range(ofScalars: a.span)], "paris")
        XCTAssertEqual(context.utf16.distance(from: context.startIndex, to: context.range(ofScalars: a.span).lowerBound), 8)
    }

    func testLogitsOfTheWrongShapeAreRejected() throws {
        let f = try features("paris")
        XCTAssertThrowsError(try SpanDecoder.bestSpan(features: f, startLogits: [[Float](repeating: 0, count: 3)],
                                                      endLogits: [[Float](repeating: 0, count: 3)])) { error in
            XCTAssertEqual(error as? QAError, .logitsShapeMismatch(expected: 16, got: 3))
        }
    }
}
