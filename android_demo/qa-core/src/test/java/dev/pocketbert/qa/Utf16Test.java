package dev.pocketbert.qa;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class Utf16Test {
  @Test
  public void codePointOffsetsBecomeUtf16IndicesPastAstralCharacters() {
    String passage = "🍜 ramen in 東京 😀 tonight";
    // code points: 🍜=0, ' '=1, r=2 ... ; "tonight" starts at code point 16 but UTF-16 index 18.
    int start = passage.codePoints().toArray().length - 7;
    assertEquals(16, start);
    int[] r = Utf16.range(passage, start, start + 7);
    assertArrayEquals(new int[] {18, 25}, r);
    assertEquals("tonight", passage.substring(r[0], r[1]));
    assertEquals(2, Utf16.index(passage, 1));
  }

  @Test
  public void answerRangeHighlightsTheAnswerText() {
    BertTokenizer tok = new BertTokenizer(TestVocab.small(), TokenizerConfig.UNCASED);
    String passage = "😀 the cat sat";
    QaFeatures f = QaFeatures.build(tok, "who?", passage, 16, 2, 64);
    double[][] s = new double[1][16];
    double[][] e = new double[1][16];
    s[0][6] = 9; // "cat": [CLS] who ? [SEP] [UNK] the cat
    e[0][6] = 9;
    Answer a = SpanDecoder.bestSpan(f, s, e, 30, 20);
    assertEquals("cat", a.text());
    assertEquals(6, a.startChar());
    int[] r = Utf16.range(passage, a);
    assertEquals("cat", passage.substring(r[0], r[1]));
  }
}
