package dev.pocketbert.qa;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Small in-test vocabularies (ids are list positions, as in vocab.txt). */
final class TestVocab {
  private TestVocab() {}

  static final List<String> SPECIAL = Arrays.asList("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");

  static Vocab of(String... words) {
    List<String> all = new ArrayList<>(SPECIAL);
    all.addAll(Arrays.asList(words));
    return new Vocab(all);
  }

  /** Enough words for the passages of the feature and pipeline tests. */
  static Vocab small() {
    return of(
        "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "in", "park", "who", "where", "what", "did", "is",
        "?", ".", ",", "!", "un", "##aff", "##able", "aff", "able", "cafe", "zurich", "東", "京", "hello", "world",
        "x", "y", "z", "1", "2", "3", "##s", "run", "##ning");
  }
}
