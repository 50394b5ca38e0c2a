package dev.pocketbert.qa;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class WordPieceTest {
  private static final BertTokenizer TOK = new BertTokenizer(TestVocab.small(), TokenizerConfig.UNCASED);

  private static List<String> texts(List<Token> ts) {
    List<String> out = new ArrayList<>();
    for (Token t : ts) {
      out.add(t.text() + "@" + t.start() + ":" + t.end());
    }
    return out;
  }

  @Test
  public void greedyLongestMatchFirstWithContinuationPrefix() {
    // "un" + "##aff" + "##able", never "un" + "aff" + ... (a word's inner pieces need "##").
    assertEquals(List.of("un@0:2", "##aff@2:5", "##able@5:9"), texts(TOK.tokenize("unaffable")));
    assertEquals(List.of("run@0:3", "##ning@3:7", "cat@8:11", "##s@11:12"), texts(TOK.tokenize("running cats")));
  }

  @Test
  public void idsAreVocabLinePositions() {
    List<Token> ts = TOK.tokenize("the cat");
    assertEquals(TestVocab.small().id("the"), ts.get(0).id());
    assertEquals(5, ts.get(0).id()); // after the 5 special tokens
  }

  @Test
  public void unmatchableWordBecomesOneUnkOverTheWholeWord() {
    // "unaffablez": un ##aff ##able then "z" has no "##z" -> the whole word is [UNK].
    assertEquals(List.of("[UNK]@0:10", "cat@11:14"), texts(TOK.tokenize("unaffablez cat")));
  }

  @Test
  public void wordsOverTheCharacterLimitAreUnk() {
    Vocab v = TestVocab.of("x", "##x");
    BertTokenizer t = new BertTokenizer(v, TokenizerConfig.UNCASED);
    assertEquals(100, t.tokenize("x".repeat(100)).size());
    assertEquals(List.of("[UNK]@0:101"), texts(t.tokenize("x".repeat(101))));
  }

  @Test
  public void offsetsAreCodePointsOfTheOriginalText() {
    // The emoji is one code point (two UTF-16 units); "Café" keeps its original span though the é was decomposed.
    assertEquals(List.of("[UNK]@0:1", "cafe@2:6", "zurich@7:13"), texts(TOK.tokenize("😀 Café Zürich")));
    assertEquals(List.of("東@0:1", "京@1:2"), texts(TOK.tokenize("東京")));
  }

  @Test
  public void literalSpecialTokensStayWhole() {
    assertEquals(List.of("a@0:1", "[MASK]@1:7", "x@7:8"), texts(TOK.tokenize("a[MASK]x")));
    // Special tokens are matched before lowercasing, so "[mask]" is ordinary text.
    assertEquals(List.of("[UNK]@0:1", "[UNK]@1:5", "[UNK]@5:6"), texts(TOK.tokenize("[mask]")));
  }
}
