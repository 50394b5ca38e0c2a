/// Why a question could not be answered. `code` is the golden-vector `expect_error` name where one exists.
public enum QAError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyQuestion
    case emptyContext
    /// The question leaves no room for context tokens in a window of `maxSeqLen`.
    case noRoomForContext(maxSeqLen: Int, questionTokens: Int)
    /// Windows of `capacity` context tokens cannot advance with an overlap of `docStride`.
    case strideTooLarge(capacity: Int, docStride: Int)
    case missingSpecialToken(String)
    case unreadableVocabulary(path: String)
    case logitsShapeMismatch(expected: Int, got: Int)
    case noSequenceLength

    /// The name shared with pocketbert/core/qa.py and the golden vectors (`empty_question` / `empty_context`).
    public var code: String? {
        switch self {
        case .emptyQuestion: return "empty_question"
        case .emptyContext: return "empty_context"
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .emptyQuestion:
            return "The question is empty; type a question with words in it."
        case .emptyContext:
            return "The passage is empty; paste a passage to search for the answer."
        case let .noRoomForContext(maxSeqLen, questionTokens):
            return "A \(maxSeqLen)-token window has no room for the passage after a \(questionTokens)-token question; "
                + "use a longer sequence length or a shorter question."
        case let .strideTooLarge(capacity, docStride):
            return "Windows hold \(capacity) passage tokens, not more than doc_stride=\(docStride); "
                + "use a longer sequence length or a smaller doc_stride."
        case let .missingSpecialToken(token):
            return "The vocabulary has no \(token) token; use the vocab.txt that came with the model."
        case let .unreadableVocabulary(path):
            return "Cannot read the vocabulary at \(path); copy the whole artifact folder (with vocab.txt)."
        case let .logitsShapeMismatch(expected, got):
            return "The model returned \(got) logits for a \(expected)-token window; check the manifest's seq_lens."
        case .noSequenceLength:
            return "The model lists no sequence length; check the manifest's seq_lens."
        }
    }
}
