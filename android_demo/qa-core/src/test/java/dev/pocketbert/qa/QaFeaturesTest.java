package dev.pocketbert.qa;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import org.junit.Test;

public class QaFeaturesTest {
  private static final BertTokenizer TOK = new BertTokenizer(TestVocab.small(), TokenizerConfig.UNCASED);
  private static final Vocab V = TOK.vocab();

  @Test
  public void oneWindowLayout() {
    QaFeatures f = QaFeatures.build(TOK, "who sat?", "The cat sat.", 12, 2, 64);
    assertEquals(1, f.windows().size());
    Window w = f.windows().get(0);
    int cls = V.id("[CLS]");
    int sep = V.id("[SEP]");
    assertArrayEquals(
        new int[] {cls, V.id("who"), V.id("sat"), V.id("?"), sep, V.id("the"), V.id("cat"), V.id("sat"), V.id("."), sep, 0, 0},
        w.inputIds());
    assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, w.attentionMask());
    assertArrayEquals(new int[] {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0}, w.tokenTypeIds());
    assertEquals(5, w.contextStart());
    assertEquals(9, w.contextEnd());
    assertEquals(0, w.docTokenStart());
    assertNull(w.offsets()[4]);
    assertArrayEquals(new int[] {4, 7}, w.offsets()[6]); // "cat"
    assertNull(w.offsets()[9]); // the final [SEP]
  }

  @Test
  public void windowsAdvanceByCapacityMinusStrideUntilOneReachesTheEnd() {
    // 10 context tokens; question "who ?" -> cap = 10 - 2 - 3 = 5; stride 2 -> step 3: starts 0, 3, 6 (6+5 >= 10).
    String ctx = "x y z x y z x y z x";
    QaFeatures f = QaFeatures.build(TOK, "who?", ctx, 10, 2, 64);
    assertEquals(3, f.windows().size());
    int[] starts = f.windows().stream().mapToInt(Window::docTokenStart).toArray();
    assertArrayEquals(new int[] {0, 3, 6}, starts);
    Window last = f.windows().get(2);
    assertEquals(4, last.contextStart());
    assertEquals(8, last.contextEnd()); // 4 tokens left: 6..9
    assertArrayEquals(new int[] {18, 19}, last.offsets()[7]); // last "x"
    // consecutive windows overlap by doc_stride tokens
    assertArrayEquals(f.windows().get(0).offsets()[7], f.windows().get(1).offsets()[4]);
    assertEquals(List.of(0, 3, 6), QaFeatures.windowStarts(10, 5, 2, 10));
    assertEquals(List.of(0), QaFeatures.windowStarts(5, 5, 2, 10));
  }

  @Test
  public void questionIsTruncatedToMaxQueryLen() {
    QaFeatures f = QaFeatures.build(TOK, "who sat on the mat ?", "the cat", 16, 2, 3);
    assertEquals(3, f.questionTokens().size());
    assertEquals("on", f.questionTokens().get(2).text());
    assertEquals(V.id("[SEP]"), f.windows().get(0).inputIds()[4]);
  }

  @Test
  public void strideNotBelowCapacityIsRejected() {
    try {
      QaFeatures.build(TOK, "who?", "the cat sat", 8, 3, 64); // cap = 8 - 2 - 3 = 3
      fail("expected bad settings");
    } catch (QaException e) {
      assertEquals(QaException.BAD_SETTINGS, e.code());
      assertTrue(e.getMessage(), e.getMessage().contains("doc_stride=3"));
    }
  }

  @Test
  public void blankOrTokenlessInputsAreErrorsWithCodes() {
    assertError(QaException.EMPTY_QUESTION, " \t\u00a0", "the cat");
    assertError(QaException.EMPTY_CONTEXT, "who?", "\n \u3000");
    // Not blank for Python's str.strip(), but nothing survives cleaning: still an empty question.
    assertError(QaException.EMPTY_QUESTION, "\u0000\u200b", "the cat");
    // Blank question wins over blank context, as in the reference.
    assertError(QaException.EMPTY_QUESTION, " ", " ");
  }

  private static void assertError(String code, String q, String c) {
    try {
      QaFeatures.build(TOK, q, c, 32, 4, 64);
      fail("expected " + code);
    } catch (QaException e) {
      assertEquals(code, e.code());
    }
  }
}
