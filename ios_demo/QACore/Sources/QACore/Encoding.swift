/// A half-open `[start, end)` range of Unicode scalar (code point) indices into the original text
/// (CONTRACTS.md §3). Apps convert it to `String.Index` / UTF-16 only for display.
public struct CharSpan: Sendable, Hashable, Codable, CustomStringConvertible {
    public var start: Int
    public var end: Int

    public init(_ start: Int, _ end: Int) {
        self.start = start
        self.end = end
    }

    public var description: String { "[\(start), \(end))" }

    /// Encoded as the `[start, end]` pair that the golden vectors and qa.py use.
    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        start = try c.decode(Int.self)
        end = try c.decode(Int.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(start)
        try c.encode(end)
    }
}

/// WordPiece tokens of one text, without special tokens around them.
public struct Encoding: Sendable, Equatable {
    public var ids: [Int]
    public var tokens: [String]
    /// Per token, the code points of the original text it came from.
    public var offsets: [CharSpan]

    public init(ids: [Int] = [], tokens: [String] = [], offsets: [CharSpan] = []) {
        self.ids = ids
        self.tokens = tokens
        self.offsets = offsets
    }

    public var count: Int { ids.count }
    public var isEmpty: Bool { ids.isEmpty }

    /// The first `n` tokens (question truncation to `max_query_len`).
    public func prefix(_ n: Int) -> Encoding {
        Encoding(ids: Array(ids.prefix(n)), tokens: Array(tokens.prefix(n)), offsets: Array(offsets.prefix(n)))
    }

    mutating func append(id: Int, token: String, span: CharSpan) {
        ids.append(id)
        tokens.append(token)
        offsets.append(span)
    }
}

extension String {
    /// The range of `String.Index` covering code points `[span.start, span.end)`, clamped to the string.
    public func range(ofScalars span: CharSpan) -> Range<String.Index> {
        let scalars = unicodeScalars
        let count = scalars.count
        let lo = Swift.max(0, Swift.min(span.start, count))
        let hi = Swift.max(lo, Swift.min(span.end, count))
        let start = scalars.index(scalars.startIndex, offsetBy: lo)
        let end = scalars.index(start, offsetBy: hi - lo)
        return start..<end
    }

    /// The text of code points `[span.start, span.end)` (Python's `context[start:end]`).
    public func substring(scalars span: CharSpan) -> String {
        String(unicodeScalars[range(ofScalars: span)])
    }
}
