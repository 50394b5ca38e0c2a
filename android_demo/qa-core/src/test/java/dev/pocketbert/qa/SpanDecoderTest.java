package dev.pocketbert.qa;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import org.junit.Test;

public class SpanDecoderTest {
  private static final BertTokenizer TOK = new BertTokenizer(TestVocab.small(), TokenizerConfig.UNCASED);

  /** "who?" + "the cat sat on the mat." in 16 positions: context tokens at positions 4..10. */
  private static QaFeatures one() {
    return QaFeatures.build(TOK, "who?", "the cat sat on the mat.", 16, 2, 64);
  }

  /** All-zero logits: every context position equally likely. */
  private static double[][] flat(int windows, int n) {
    return new double[windows][n];
  }

  @Test
  public void picksTheBestConstrainedSpanAndMapsItToCharacters() {
    QaFeatures f = one();
    double[][] s = flat(1, 16);
    double[][] e = flat(1, 16);
    s[0][5] = 5; // "cat"
    e[0][6] = 5; // "sat"
    Answer a = SpanDecoder.bestSpan(f, s, e, 30, 20);
    assertEquals("cat sat", a.text());
    assertEquals(4, a.startChar());
    assertEquals(11, a.endChar());
    assertEquals(0, a.window());
    assertEquals(5, a.startToken());
    assertEquals(6, a.endToken());
    assertTrue(a.score() > 0.5 && a.score() < 1);
  }

  @Test
  public void ignoresPeaksOutsideTheContext() {
    QaFeatures f = one();
    double[][] s = flat(1, 16);
    double[][] e = flat(1, 16);
    s[0][1] = e[0][1] = 50; // question token
    s[0][0] = e[0][0] = 50; // [CLS]
    s[0][15] = e[0][15] = 50; // padding
    s[0][11] = e[0][11] = 50; // final [SEP]
    s[0][8] = 3; // "the"
    e[0][9] = 3; // "mat"
    Answer a = SpanDecoder.bestSpan(f, s, e, 30, 20);
    assertEquals("the mat", a.text());
  }

  @Test
  public void endBeforeStartAndOverlongSpansAreNotCandidates() {
    QaFeatures f = one();
    double[][] s = flat(1, 16);
    double[][] e = flat(1, 16);
    s[0][9] = 10; // "mat"
    e[0][4] = 10; // "the" (before the start)
    e[0][9] = 4;
    Answer a = SpanDecoder.bestSpan(f, s, e, 30, 20);
    assertEquals(9, a.startToken());
    assertEquals(9, a.endToken());

    s = flat(1, 16);
    e = flat(1, 16);
    s[0][4] = 10;
    e[0][9] = 10; // 6 tokens long
    e[0][5] = 2;
    Answer b = SpanDecoder.bestSpan(f, s, e, 2, 20);
    assertEquals(4, b.startToken());
    assertEquals(5, b.endToken());
    assertEquals("the cat", b.text());
  }

  @Test
  public void onlyTopKStartsAndEndsArePaired() {
    QaFeatures f = one();
    double[][] s = flat(1, 16);
    double[][] e = flat(1, 16);
    // With top_k = 1 the best start (position 9) and best end (position 5) cannot pair: no answer.
    s[0][9] = 10;
    e[0][5] = 10;
    Answer a = SpanDecoder.bestSpan(f, s, e, 30, 1);
    assertTrue(a.isEmpty());
    assertEquals("", a.text());
    assertEquals(-1, a.window());
    assertEquals(0.0, a.score(), 0.0);
  }

  @Test
  public void exactTiesGoToTheEarlierWindowThenStartThenEnd() {
    // Two windows holding the same tokens ("x y" twice, cap 2, stride 0) with identical logits: window 0 wins.
    QaFeatures f = QaFeatures.build(TOK, "who?", "x y x y", 7, 0, 64);
    assertEquals(2, f.windows().size());
    double[][] s = flat(2, 7);
    double[][] e = flat(2, 7);
    for (int w = 0; w < 2; w++) {
      s[w][4] = 5;
      e[w][5] = 5;
    }
    Answer a = SpanDecoder.bestSpan(f, s, e, 30, 20);
    assertEquals(0, a.window());
    assertEquals("x y", a.text());
    assertEquals(0, a.startChar());

    // Equal scores within a window: the earlier start wins, then the earlier end.
    s = flat(2, 7);
    e = flat(2, 7);
    Answer b = SpanDecoder.bestSpan(f, s, e, 30, 20);
    assertEquals(0, b.window());
    assertEquals(4, b.startToken());
    assertEquals(4, b.endToken());
  }

  @Test
  public void laterWindowWinsWithAHigherScore() {
    QaFeatures f = QaFeatures.build(TOK, "who?", "x y x y", 7, 0, 64);
    double[][] s = flat(2, 7);
    double[][] e = flat(2, 7);
    s[0][4] = e[0][4] = 2;
    s[1][5] = e[1][5] = 6; // window 1, second context token = "y" at chars 6..7
    Answer a = SpanDecoder.bestSpan(f, s, e, 30, 20);
    assertEquals(1, a.window());
    assertEquals(6, a.startChar());
    assertEquals("y", a.text());
  }

  @Test
  public void softmaxIsOverAllPositionsWithMaskedLogits() {
    QaFeatures f = one();
    double[] p = SpanDecoder.maskedSoftmax(new double[16], f.windows().get(0));
    // 7 context positions share (almost) all the mass equally.
    assertEquals(1.0 / 7, p[4], 1e-12);
    assertEquals(0.0, p[0], 1e-300);
    assertEquals(1.0, Arrays.stream(p).sum(), 1e-12);
  }

  @Test
  public void topKIsStableForTies() {
    int[] idx = SpanDecoder.topK(new double[] {0.1, 0.3, 0.3, 0.0, -0.0, 0.3}, 4);
    assertEquals("[1, 2, 5, 0]", Arrays.toString(idx));
    assertEquals("[3, 4]", Arrays.toString(Arrays.copyOfRange(SpanDecoder.topK(new double[] {1, 1, 1, -0.0, 0.0}, 5), 3, 5)));
  }

  @Test
  public void floatLogitsDecodeLikeDoubles() {
    QaFeatures f = one();
    float[][] s = new float[1][16];
    float[][] e = new float[1][16];
    s[0][6] = 4f;
    e[0][7] = 4f;
    Answer a = SpanDecoder.bestSpan(f, s, e, 30, 20);
    assertEquals("sat on", a.text());
  }
}
