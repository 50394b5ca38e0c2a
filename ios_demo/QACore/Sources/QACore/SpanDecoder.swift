import Foundation

/// Decoding settings (CONTRACTS.md §3).
public struct DecodeSettings: Sendable, Equatable {
    public var maxAnswerLen: Int
    public var topK: Int

    public init(maxAnswerLen: Int = 30, topK: Int = 20) {
        self.maxAnswerLen = maxAnswerLen
        self.topK = topK
    }
}

/// The best answer span, in passage code points and window positions.
public struct QAAnswer: Sendable, Equatable, Codable {
    public var text: String
    public var startChar: Int
    public var endChar: Int
    /// p_start * p_end of the chosen span (0 when nothing could be chosen).
    public var score: Double
    /// -1 (with empty text) when no top-k pair satisfied the constraints.
    public var window: Int
    public var startToken: Int
    public var endToken: Int

    public init(text: String, startChar: Int, endChar: Int, score: Double, window: Int, startToken: Int, endToken: Int) {
        self.text = text
        self.startChar = startChar
        self.endChar = endChar
        self.score = score
        self.window = window
        self.startToken = startToken
        self.endToken = endToken
    }

    public static let none = QAAnswer(text: "", startChar: 0, endChar: 0, score: 0, window: -1, startToken: -1, endToken: -1)

    public var found: Bool { window >= 0 }
    public var span: CharSpan { CharSpan(startChar, endChar) }

    enum CodingKeys: String, CodingKey {
        case text, score, window
        case startChar = "start_char"
        case endChar = "end_char"
        case startToken = "start_token"
        case endToken = "end_token"
    }
}

/// Constrained best-span decoding over all windows, as `best_span` in pocketbert/core/qa.py.
///
/// Per window: positions that are not context tokens get `maskedLogit`; softmax (in Double) over starts and
/// ends separately; the topK starts x topK ends (stable: ties go to the lower position) are paired when both
/// are context tokens, start <= end and the span has at most maxAnswerLen tokens; score = p_start * p_end.
/// The best score wins; exact ties go to the earlier window, then the earlier start, then the earlier end.
public enum SpanDecoder {
    public static let maskedLogit = -10000.0

    public static func bestSpan<F: BinaryFloatingPoint>(
        features: QAFeatures, startLogits: [[F]], endLogits: [[F]], settings: DecodeSettings = DecodeSettings()
    ) throws -> QAAnswer {
        var best: (score: Double, window: Int, start: Int, end: Int)? = nil
        for (w, window) in features.windows.enumerated() {
            let n = window.sequenceLength
            guard w < startLogits.count, w < endLogits.count else {
                throw QAError.logitsShapeMismatch(expected: n, got: 0)
            }
            guard startLogits[w].count == n else { throw QAError.logitsShapeMismatch(expected: n, got: startLogits[w].count) }
            guard endLogits[w].count == n else { throw QAError.logitsShapeMismatch(expected: n, got: endLogits[w].count) }
            let inContext = window.offsets.map { $0 != nil }
            let pStart = softmax(startLogits[w], mask: inContext)  // (n,)
            let pEnd = softmax(endLogits[w], mask: inContext)
            let topStarts = topIndices(pStart, k: settings.topK)
            let topEnds = topIndices(pEnd, k: settings.topK)
            for s in topStarts where inContext[s] {
                for e in topEnds where inContext[e] && s <= e && e - s + 1 <= settings.maxAnswerLen {
                    let score = pStart[s] * pEnd[e]
                    // Candidates come in window order, but starts/ends in probability order: compare fully.
                    if let b = best {
                        if score > b.score || (score == b.score && (w, s, e) < (b.window, b.start, b.end)) {
                            best = (score, w, s, e)
                        }
                    } else {
                        best = (score, w, s, e)
                    }
                }
            }
        }
        guard let b = best, let first = features.windows[b.window].offsets[b.start],
              let last = features.windows[b.window].offsets[b.end] else {
            return .none
        }
        let span = CharSpan(first.start, last.end)
        return QAAnswer(text: features.context.substring(scalars: span), startChar: span.start, endChar: span.end,
                        score: b.score, window: b.window, startToken: b.start, endToken: b.end)
    }

    /// Softmax in Double with masked positions set to `maskedLogit`.
    static func softmax<F: BinaryFloatingPoint>(_ logits: [F], mask: [Bool]) -> [Double] {
        let x = zip(logits, mask).map { $1 ? Double($0) : maskedLogit }
        let m = x.max() ?? 0
        let z = x.map { Foundation.exp($0 - m) }
        let sum = z.reduce(0, +)
        return z.map { $0 / sum }
    }

    /// Indices of the k largest values, largest first; equal values keep index order (numpy's stable argsort).
    static func topIndices(_ values: [Double], k: Int) -> [Int] {
        let order = values.indices.sorted { a, b in
            values[a] != values[b] ? values[a] > values[b] : a < b
        }
        return Array(order.prefix(max(0, k)))
    }
}
