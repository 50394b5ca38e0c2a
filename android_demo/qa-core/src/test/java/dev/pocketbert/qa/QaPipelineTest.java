package dev.pocketbert.qa;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class QaPipelineTest {
  private static final BertTokenizer TOK = new BertTokenizer(TestVocab.small(), TokenizerConfig.UNCASED);

  /** A fake model that points at every token equal to {@code target} and records the shapes it was run with. */
  static final class PointingModel implements QaModel {
    final List<Integer> lens;
    final int target;
    final List<Integer> calls = new ArrayList<>();

    PointingModel(List<Integer> lens, int target) {
      this.lens = lens;
      this.target = target;
    }

    @Override
    public List<Integer> seqLens() {
      return lens;
    }

    @Override
    public Logits run(int seqLen, int[] ids, int[] mask, int[] types) {
      assertEquals(seqLen, ids.length);
      assertEquals(seqLen, mask.length);
      assertEquals(seqLen, types.length);
      calls.add(seqLen);
      float[] s = new float[seqLen];
      float[] e = new float[seqLen];
      for (int i = 0; i < seqLen; i++) {
        if (ids[i] == target && types[i] == 1) {
          s[i] = 6;
          e[i] = 6;
        }
      }
      return new Logits(s, e);
    }
  }

  @Test
  public void choosesTheSmallestSequenceLengthThatFits() {
    assertEquals(16, QaPipeline.chooseSeqLen(List.of(16, 64, 384), 3, 10)); // 3 + 10 + 3 = 16
    assertEquals(64, QaPipeline.chooseSeqLen(List.of(384, 16, 64), 3, 11));
    assertEquals(384, QaPipeline.chooseSeqLen(List.of(16, 64, 384), 30, 1000)); // windows on the largest
  }

  @Test
  public void answersWithTheShortSignatureEvenWhenDocStrideExceedsIt() throws Exception {
    PointingModel m = new PointingModel(List.of(16, 384), TOK.vocab().id("park"));
    // doc_stride 128 > capacity of seq 16: a single window needs no stride.
    QaPipeline p = new QaPipeline(TOK, m, new QaPipeline.Settings(128, 64, 30, 20));
    QaPipeline.Result r = p.answer("where did the dog run?", "The dog ran in a park.");
    assertEquals("park", r.answer().text());
    assertEquals(16, r.seqLen());
    assertEquals(1, r.windows());
    assertEquals(List.of(16), m.calls);
    assertTrue(r.tokenizeNanos() > 0 && r.modelNanos() > 0 && r.decodeNanos() > 0);
    assertEquals(r.tokenizeMs() + r.modelMs() + r.decodeMs(), r.totalMs(), 1e-9);
  }

  @Test
  public void longPassagesRunEveryWindowOfTheLargestLength() throws Exception {
    PointingModel m = new PointingModel(List.of(12), TOK.vocab().id("park"));
    QaPipeline p = new QaPipeline(TOK, m, new QaPipeline.Settings(2, 64, 30, 20));
    String ctx = "the cat sat on the mat . the dog ran in a park .";
    QaPipeline.Result r = p.answer("where?", ctx);
    assertTrue(r.windows() > 1);
    assertEquals(r.windows(), m.calls.size());
    assertEquals("park", r.answer().text());
    assertEquals(ctx.indexOf("park"), r.answer().startChar());
  }
}
