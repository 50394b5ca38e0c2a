/// Start and end logits of one window, one value per position.
public struct SpanLogits: Sendable, Equatable {
    public var start: [Float]
    public var end: [Float]

    public init(start: [Float], end: [Float]) {
        self.start = start
        self.end = end
    }
}

/// The model call: one padded window in, start/end logits out. The Core ML implementation lives in the app
/// (it cannot build on Linux); tests use scripted models. Sendable: the app predicts off the main actor.
public protocol QAModel: Sendable {
    /// Sequence lengths the model was converted for (enumerated shapes), any order.
    var sequenceLengths: [Int] { get }
    /// Logits for `window`, whose length is one of `sequenceLengths`.
    func predict(_ window: QAWindow) throws -> SpanLogits
}

extension QAModel {
    /// The smallest sequence length that holds the question and the whole passage in one window, else the
    /// longest one (the passage is then split into overlapping windows).
    public func sequenceLength(for pair: EncodedPair) throws -> Int {
        try SequenceLengthPicker.pick(needed: pair.singleWindowLength, available: sequenceLengths)
    }
}

public enum SequenceLengthPicker {
    public static func pick(needed: Int, available: [Int]) throws -> Int {
        let sorted = available.filter { $0 > 0 }.sorted()
        guard let longest = sorted.last else { throw QAError.noSequenceLength }
        return sorted.first { $0 >= needed } ?? longest
    }
}
