package dev.pocketbert.qa;

import java.util.List;

/**
 * Question + passage -> answer with the latency split an app shows (tokenize / model / decode).
 *
 * <p>The sequence length is the smallest of the model's lengths that holds {@code [CLS] q [SEP] c [SEP]} in
 * one window (short passages run a small, fast signature); when none does, the largest one, with windows.
 */
public final class QaPipeline {
  /** Settings read from the artifact's manifest (tokenizer block), with the contract's defaults. */
  public record Settings(int docStride, int maxQueryLen, int maxAnswerLen, int topK) {
    public static final Settings DEFAULTS =
        new Settings(
            QaFeatures.DEFAULT_DOC_STRIDE,
            QaFeatures.DEFAULT_MAX_QUERY_LEN,
            SpanDecoder.DEFAULT_MAX_ANSWER_LEN,
            SpanDecoder.DEFAULT_TOP_K);
  }

  /** The answer, the sequence length and window count used, and where the time went (nanoseconds). */
  public record Result(
      Answer answer, int seqLen, int windows, long tokenizeNanos, long modelNanos, long decodeNanos) {
    public double tokenizeMs() {
      return tokenizeNanos / 1e6;
    }

    public double modelMs() {
      return modelNanos / 1e6;
    }

    public double decodeMs() {
      return decodeNanos / 1e6;
    }

    public double totalMs() {
      return (tokenizeNanos + modelNanos + decodeNanos) / 1e6;
    }
  }

  private final BertTokenizer tokenizer;
  private final QaModel model;
  private final Settings settings;

  public QaPipeline(BertTokenizer tokenizer, QaModel model, Settings settings) {
    this.tokenizer = tokenizer;
    this.model = model;
    this.settings = settings;
  }

  /**
   * The smallest of {@code seqLens} that holds every token in one window, else the largest.
   *
   * @throws IllegalArgumentException when {@code seqLens} is empty
   */
  public static int chooseSeqLen(List<Integer> seqLens, int questionTokens, int contextTokens) {
    if (seqLens.isEmpty()) {
      throw new IllegalArgumentException("the model lists no sequence lengths; re-run pocketbert convert");
    }
    int needed = questionTokens + contextTokens + QaFeatures.N_SPECIAL_TOKENS;
    int best = -1;
    int largest = -1;
    for (int s : seqLens) {
      largest = Math.max(largest, s);
      if (s >= needed && (best < 0 || s < best)) {
        best = s;
      }
    }
    return best > 0 ? best : largest;
  }

  public Result answer(String question, String context) throws Exception {
    long t0 = System.nanoTime();
    QaFeatures.Tokenized tok = QaFeatures.tokenize(tokenizer, question, context, settings.maxQueryLen());
    int seqLen = chooseSeqLen(model.seqLens(), tok.question().size(), tok.context().size());
    boolean oneWindow = tok.question().size() + tok.context().size() + QaFeatures.N_SPECIAL_TOKENS <= seqLen;
    // One window never advances, so the stride cannot matter; 0 keeps short signatures (e.g. seq_128 with
    // doc_stride 128) usable for short passages.
    int stride = oneWindow ? 0 : settings.docStride();
    QaFeatures f = QaFeatures.build(tokenizer, context, tok, seqLen, stride);
    long t1 = System.nanoTime();
    List<Window> windows = f.windows();
    float[][] start = new float[windows.size()][];
    float[][] end = new float[windows.size()][];
    for (int w = 0; w < windows.size(); w++) {
      Window win = windows.get(w);
      QaModel.Logits out = model.run(seqLen, win.inputIds(), win.attentionMask(), win.tokenTypeIds());
      start[w] = out.start();
      end[w] = out.end();
    }
    long t2 = System.nanoTime();
    Answer a = SpanDecoder.bestSpan(f, start, end, settings.maxAnswerLen(), settings.topK());
    long t3 = System.nanoTime();
    return new Result(a, seqLen, windows.size(), t1 - t0, t2 - t1, t3 - t2);
  }
}
