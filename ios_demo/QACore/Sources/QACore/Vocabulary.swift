import Foundation

/// A WordPiece vocabulary: one token per line of vocab.txt, the id being the line number.
///
/// Lookups go by UTF-8 bytes, not by `String`: Swift compares strings by canonical equivalence, so "é" and
/// "e\u{301}" would be the same key, while the Rust tokenizer the model was trained with tells them apart.
public struct Vocabulary: Sendable {
    /// Token text per id.
    public let tokens: [String]
    private let idsByBytes: [[UInt8]: Int]

    /// Later duplicates win, as in Hugging Face's `load_vocab`.
    public init(tokens: [String]) {
        self.tokens = tokens
        var ids = [[UInt8]: Int](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() {
            ids[Array(token.utf8)] = id
        }
        idsByBytes = ids
    }

    /// Parses vocab.txt: lines split on "\n" (a trailing "\r" is dropped), no trailing empty token.
    public init(text: String) {
        var lines: [String] = []
        var current: [UInt8] = []
        for byte in text.utf8 {
            if byte == 0x0A {
                if current.last == 0x0D { current.removeLast() }
                lines.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(byte)
            }
        }
        if !current.isEmpty {
            if current.last == 0x0D { current.removeLast() }
            lines.append(String(decoding: current, as: UTF8.self))
        }
        self.init(tokens: lines)
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw QAError.unreadableVocabulary(path: url.path)
        }
        self.init(text: String(decoding: data, as: UTF8.self))
    }

    public var count: Int { tokens.count }

    public func id(of token: String) -> Int? { idsByBytes[Array(token.utf8)] }

    func id(utf8 bytes: [UInt8]) -> Int? { idsByBytes[bytes] }

    public func token(for id: Int) -> String? { tokens.indices.contains(id) ? tokens[id] : nil }
}
