import Foundation

/// Milliseconds spent in each phase of one answer, as the app shows them.
public struct PhaseTimings: Sendable, Equatable, Codable {
    public var tokenizeMs: Double
    public var modelMs: Double
    public var decodeMs: Double

    public init(tokenizeMs: Double = 0, modelMs: Double = 0, decodeMs: Double = 0) {
        self.tokenizeMs = tokenizeMs
        self.modelMs = modelMs
        self.decodeMs = decodeMs
    }

    public var totalMs: Double { tokenizeMs + modelMs + decodeMs }
}

/// An answer with what it took to get it.
public struct QAResult: Sendable, Equatable {
    public var answer: QAAnswer
    public var timings: PhaseTimings
    public var sequenceLength: Int
    public var windowCount: Int
}

/// Question + passage -> answer: tokenize, pick the sequence length, run the model on every window, decode.
public struct QAPipeline: Sendable {
    public let tokenizer: BertTokenizer
    public let model: any QAModel
    public var docStride: Int
    public var maxQueryLen: Int
    public var decode: DecodeSettings

    public init(tokenizer: BertTokenizer, model: any QAModel, docStride: Int = 128, maxQueryLen: Int = 64,
                decode: DecodeSettings = DecodeSettings()) {
        self.tokenizer = tokenizer
        self.model = model
        self.docStride = docStride
        self.maxQueryLen = maxQueryLen
        self.decode = decode
    }

    public func answer(question: String, context: String) throws -> QAResult {
        var timings = PhaseTimings()
        let clock = ContinuousClock()
        var t0 = clock.now
        let pair = try EncodedPair(tokenizer: tokenizer, question: question, context: context, maxQueryLen: maxQueryLen)
        let seqLen = try model.sequenceLength(for: pair)
        let features = try pair.features(tokenizer: tokenizer, maxSeqLen: seqLen, docStride: docStride)
        timings.tokenizeMs = Self.milliseconds(clock.now - t0)

        t0 = clock.now
        var starts: [[Float]] = []
        var ends: [[Float]] = []
        for window in features.windows {
            let logits = try model.predict(window)
            starts.append(logits.start)
            ends.append(logits.end)
        }
        timings.modelMs = Self.milliseconds(clock.now - t0)

        t0 = clock.now
        let answer = try SpanDecoder.bestSpan(features: features, startLogits: starts, endLogits: ends, settings: decode)
        timings.decodeMs = Self.milliseconds(clock.now - t0)
        return QAResult(answer: answer, timings: timings, sequenceLength: seqLen, windowCount: features.windows.count)
    }

    public static func milliseconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }
}
