/// Window settings (CONTRACTS.md §3; defaults as in pocketbert/core/qa.py).
public struct FeatureSettings: Sendable, Equatable {
    public var maxSeqLen: Int
    public var docStride: Int
    public var maxQueryLen: Int

    public init(maxSeqLen: Int = 384, docStride: Int = 128, maxQueryLen: Int = 64) {
        self.maxSeqLen = maxSeqLen
        self.docStride = docStride
        self.maxQueryLen = maxQueryLen
    }
}

/// One model input: `[CLS] q [SEP] c[start..<end] [SEP]` padded with [PAD] to the sequence length.
public struct QAWindow: Sendable, Equatable {
    public var inputIds: [Int32]
    public var attentionMask: [Int32]
    public var tokenTypeIds: [Int32]
    /// Positions `[contextStart, contextEnd)` hold context tokens.
    public var contextStart: Int
    public var contextEnd: Int
    /// Index into the context tokens of this window's first context token.
    public var docTokenStart: Int
    /// Per position, the code points of the context it covers; nil outside the context.
    public var offsets: [CharSpan?]

    public var sequenceLength: Int { inputIds.count }
}

/// A question and a passage, tokenized once; windows are cut for whichever sequence length the model takes.
public struct EncodedPair: Sendable {
    public let context: String
    /// The question's tokens after `max_query_len` truncation.
    public let question: Encoding
    public let contextTokens: Encoding

    public static let specialTokensPerWindow = 3

    /// Tokens needed to fit everything in one window.
    public var singleWindowLength: Int { question.count + contextTokens.count + Self.specialTokensPerWindow }

    /// Empty inputs fail as in qa.py: whitespace-only question, whitespace-only context, then a question or
    /// context with no tokens (only control characters, say), in that order.
    public init(tokenizer: BertTokenizer, question: String, context: String, maxQueryLen: Int = 64) throws {
        if question.unicodeScalars.allSatisfy(CharacterClasses.isPythonSpace) { throw QAError.emptyQuestion }
        if context.unicodeScalars.allSatisfy(CharacterClasses.isPythonSpace) { throw QAError.emptyContext }
        let q = tokenizer.encode(question)
        if q.isEmpty { throw QAError.emptyQuestion }
        let c = tokenizer.encode(context)
        if c.isEmpty { throw QAError.emptyContext }
        self.context = context
        self.question = q.prefix(maxQueryLen)
        contextTokens = c
    }

    /// Token index of each window's first context token: 0, step, 2*step, ... with step = cap - docStride,
    /// until a window reaches the end of the context (Hugging Face's overflow rule).
    public static func windowStarts(contextCount: Int, capacity: Int, docStride: Int, maxSeqLen: Int,
                                    questionCount: Int) throws -> [Int] {
        guard capacity >= 1 else {
            throw QAError.noRoomForContext(maxSeqLen: maxSeqLen, questionTokens: questionCount)
        }
        if contextCount > capacity && capacity <= docStride {
            throw QAError.strideTooLarge(capacity: capacity, docStride: docStride)
        }
        let step = capacity - docStride
        var starts = [0]
        while starts[starts.count - 1] + capacity < contextCount {
            starts.append(starts[starts.count - 1] + step)
        }
        return starts
    }

    /// The windows for a model with `maxSeqLen` positions.
    public func features(tokenizer: BertTokenizer, maxSeqLen: Int, docStride: Int) throws -> QAFeatures {
        let cls = Int32(try tokenizer.requiredId(of: "[CLS]"))
        let sep = Int32(try tokenizer.requiredId(of: "[SEP]"))
        let pad = Int32(tokenizer.vocabulary.id(of: "[PAD]") ?? 0)
        let capacity = maxSeqLen - question.count - Self.specialTokensPerWindow
        let starts = try Self.windowStarts(contextCount: contextTokens.count, capacity: capacity,
                                           docStride: docStride, maxSeqLen: maxSeqLen, questionCount: question.count)
        let head = [cls] + question.ids.map { Int32($0) } + [sep]
        var windows: [QAWindow] = []
        for start in starts {
            let end = min(start + capacity, contextTokens.count)
            let row = head + contextTokens.ids[start..<end].map { Int32($0) } + [sep]
            var ids = [Int32](repeating: pad, count: maxSeqLen)  // (maxSeqLen,)
            var mask = [Int32](repeating: 0, count: maxSeqLen)
            var types = [Int32](repeating: 0, count: maxSeqLen)
            var offsets = [CharSpan?](repeating: nil, count: maxSeqLen)
            for (p, id) in row.enumerated() {
                ids[p] = id
                mask[p] = 1
                if p >= head.count { types[p] = 1 }
            }
            for (k, span) in contextTokens.offsets[start..<end].enumerated() {
                offsets[head.count + k] = span
            }
            windows.append(QAWindow(inputIds: ids, attentionMask: mask, tokenTypeIds: types,
                                    contextStart: head.count, contextEnd: head.count + end - start,
                                    docTokenStart: start, offsets: offsets))
        }
        return QAFeatures(pair: self, maxSeqLen: maxSeqLen, windows: windows)
    }
}

/// Every window of one question/passage pair (qa.py's `Features`).
public struct QAFeatures: Sendable {
    public let pair: EncodedPair
    public let maxSeqLen: Int
    public let windows: [QAWindow]

    public var context: String { pair.context }

    /// `make_features` of qa.py: tokenize, truncate the question, cut the windows.
    public init(tokenizer: BertTokenizer, question: String, context: String,
                settings: FeatureSettings = FeatureSettings()) throws {
        let pair = try EncodedPair(tokenizer: tokenizer, question: question, context: context,
                                   maxQueryLen: settings.maxQueryLen)
        self = try pair.features(tokenizer: tokenizer, maxSeqLen: settings.maxSeqLen, docStride: settings.docStride)
    }

    init(pair: EncodedPair, maxSeqLen: Int, windows: [QAWindow]) {
        self.pair = pair
        self.maxSeqLen = maxSeqLen
        self.windows = windows
    }
}
