import Foundation
import XCTest
@testable import QACore

/// One `tests/golden/<case>.json` (CONTRACTS.md §4), written by `pocketbert golden` from pocketbert/core/qa.py.
struct GoldenCase: Decodable {
    struct Window: Decodable {
        let input_ids: [Int32]
        let attention_mask: [Int32]
        let token_type_ids: [Int32]
        let context_start: Int
        let context_end: Int
        let doc_token_start: Int
        let offsets: [CharSpan?]
    }

    struct Answer: Decodable {
        let text: String
        let start_char: Int
        let end_char: Int
        let window: Int
        let start_token: Int
        let end_token: Int
        let score: Double
    }

    let name: String
    let vocab: String
    let lowercase: Bool
    let strip_accents: Bool?
    let tokenize_chinese_chars: Bool
    let max_seq_len: Int
    let doc_stride: Int
    let max_query_len: Int
    let max_answer_len: Int
    let top_k: Int
    let question: String
    let context: String
    let expect_error: String?
    let question_tokens: [String]?
    let question_ids: [Int]?
    let context_tokens: [String]?
    let context_ids: [Int]?
    let context_offsets: [CharSpan]?
    let windows: [Window]?
    let start_logits: [[Double]]?
    let end_logits: [[Double]]?
    let expected_answer: Answer?
}

struct GoldenIndex: Decodable {
    let schema_version: Int
    let vocab: String
    let cases: [String]
}

/// `tests/golden` of the repository, found from this file's path (ios_demo/QACore/Tests/QACoreTests/…),
/// or `QACORE_GOLDEN_DIR` when set (to check extra vectors written with `pocketbert golden --out DIR`).
func goldenDirectory(file: String = #filePath) -> URL {
    if let override = ProcessInfo.processInfo.environment["QACORE_GOLDEN_DIR"], !override.isEmpty {
        return URL(fileURLWithPath: override, isDirectory: true)
    }
    var dir = URL(fileURLWithPath: file).deletingLastPathComponent()  // Tests/QACoreTests
    for _ in 0..<4 { dir = dir.deletingLastPathComponent() }  // QACoreTests, Tests, QACore, ios_demo -> repo root
    return dir.appendingPathComponent("tests/golden", isDirectory: true).standardizedFileURL
}

/// "index i: mine vs theirs" for the first differing token, to make a failure readable.
func firstDifference(_ mine: [String], _ theirs: [String]) -> String {
    for i in 0..<max(mine.count, theirs.count) {
        let a = i < mine.count ? mine[i] : "<none>"
        let b = i < theirs.count ? theirs[i] : "<none>"
        if scalars(a) != scalars(b) {
            let lo = max(0, i - 3)
            return "index \(i): \(mine[lo..<min(i + 3, mine.count)]) vs \(theirs[lo..<min(i + 3, theirs.count)])"
        }
    }
    return "nowhere"
}

/// Scalar-exact equality: Swift's `==` on String treats canonically equivalent texts as equal.
func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

final class GoldenTests: XCTestCase {
    func testEveryGoldenCaseMatchesThePythonReference() throws {
        let dir = goldenDirectory()
        let indexURL = dir.appendingPathComponent("index.json")
        guard FileManager.default.fileExists(atPath: indexURL.path) else {
            XCTFail("golden vectors missing: no \(indexURL.path); run `make golden` at the repository root")
            return
        }
        let index = try JSONDecoder().decode(GoldenIndex.self, from: Data(contentsOf: indexURL))
        XCTAssertEqual(index.schema_version, 1)
        XCTAssertFalse(index.cases.isEmpty, "index.json lists no cases")
        var vocabularies: [String: Vocabulary] = [:]
        for name in index.cases {
            let data = try Data(contentsOf: dir.appendingPathComponent("\(name).json"))
            let golden = try JSONDecoder().decode(GoldenCase.self, from: data)
            XCTAssertEqual(golden.name, name)
            if vocabularies[golden.vocab] == nil {
                vocabularies[golden.vocab] = try Vocabulary(contentsOf: dir.appendingPathComponent(golden.vocab))
            }
            try check(golden, vocabulary: vocabularies[golden.vocab]!)
        }
    }

    private func check(_ g: GoldenCase, vocabulary: Vocabulary) throws {
        let c = g.name
        let settings = TokenizerSettings(lowercase: g.lowercase, stripAccents: g.strip_accents,
                                         tokenizeChineseChars: g.tokenize_chinese_chars)
        let tokenizer = try BertTokenizer(vocabulary: vocabulary, settings: settings)
        let featureSettings = FeatureSettings(maxSeqLen: g.max_seq_len, docStride: g.doc_stride, maxQueryLen: g.max_query_len)

        if let expected = g.expect_error {
            XCTAssertThrowsError(try QAFeatures(tokenizer: tokenizer, question: g.question, context: g.context,
                                                settings: featureSettings), "\(c): expected \(expected)") { error in
                XCTAssertEqual((error as? QAError)?.code, expected, "\(c): wrong error \(error)")
            }
            return
        }
        let features: QAFeatures
        do {
            features = try QAFeatures(tokenizer: tokenizer, question: g.question, context: g.context, settings: featureSettings)
        } catch {
            XCTFail("\(c): unexpected error \(error)")
            return
        }
        let pair = features.pair
        XCTAssertEqual(pair.question.tokens.map(scalars), try XCTUnwrap(g.question_tokens).map(scalars), "\(c): question tokens")
        XCTAssertEqual(pair.question.ids, g.question_ids, "\(c): question ids")
        let wantTokens = try XCTUnwrap(g.context_tokens)
        XCTAssertEqual(pair.contextTokens.tokens.map(scalars), wantTokens.map(scalars),
                       "\(c): context tokens differ first at \(firstDifference(pair.contextTokens.tokens, wantTokens))")
        XCTAssertEqual(pair.contextTokens.ids, g.context_ids, "\(c): context ids")
        XCTAssertEqual(pair.contextTokens.offsets, g.context_offsets, "\(c): context offsets")

        let windows = try XCTUnwrap(g.windows)
        XCTAssertEqual(features.windows.count, windows.count, "\(c): window count")
        for (w, (mine, want)) in zip(features.windows, windows).enumerated() {
            XCTAssertEqual(mine.inputIds, want.input_ids, "\(c) window \(w): input_ids")
            XCTAssertEqual(mine.attentionMask, want.attention_mask, "\(c) window \(w): attention_mask")
            XCTAssertEqual(mine.tokenTypeIds, want.token_type_ids, "\(c) window \(w): token_type_ids")
            XCTAssertEqual(mine.contextStart, want.context_start, "\(c) window \(w): context_start")
            XCTAssertEqual(mine.contextEnd, want.context_end, "\(c) window \(w): context_end")
            XCTAssertEqual(mine.docTokenStart, want.doc_token_start, "\(c) window \(w): doc_token_start")
            XCTAssertEqual(mine.offsets, want.offsets, "\(c) window \(w): offsets")
        }

        let answer = try SpanDecoder.bestSpan(features: features, startLogits: try XCTUnwrap(g.start_logits),
                                              endLogits: try XCTUnwrap(g.end_logits),
                                              settings: DecodeSettings(maxAnswerLen: g.max_answer_len, topK: g.top_k))
        let want = try XCTUnwrap(g.expected_answer)
        XCTAssertEqual(scalars(answer.text), scalars(want.text), "\(c): answer text \(answer.text) vs \(want.text)")
        XCTAssertEqual(answer.startChar, want.start_char, "\(c): start_char")
        XCTAssertEqual(answer.endChar, want.end_char, "\(c): end_char")
        XCTAssertEqual(answer.window, want.window, "\(c): window")
        XCTAssertEqual(answer.startToken, want.start_token, "\(c): start_token")
        XCTAssertEqual(answer.endToken, want.end_token, "\(c): end_token")
        XCTAssertEqual(answer.score, want.score, accuracy: 1e-5, "\(c): score")
    }
}
