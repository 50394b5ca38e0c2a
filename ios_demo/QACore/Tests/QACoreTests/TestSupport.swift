import Foundation
@testable import QACore

/// A vocabulary small enough to reason about: the five BERT specials first ([PAD]=0 ... [MASK]=4).
func smallVocabulary(_ words: [String]) -> Vocabulary {
    Vocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words)
}

let demoWords = [
    "un", "##aff", "##able", "hello", "world", ",", "!", "?", ".", "cafe", "café", "creme", "zoe", "e",
    "the", "capital", "of", "france", "is", "paris", "what", "where", "a", "b", "##b", "ab", "寿", "司", "x", "y",
    "Hello", "naive", "i", "Zoë", "##s", "it", "##ab",
]

func smallTokenizer(_ settings: TokenizerSettings = TokenizerSettings()) throws -> BertTokenizer {
    try BertTokenizer(vocabulary: smallVocabulary(demoWords), settings: settings)
}

/// A fixture under Tests/QACoreTests/Fixtures, found from this file's path.
func fixtureURL(_ name: String, file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}
