package dev.pocketbert.qa;

/**
 * One model input of {@code maxSeqLen} positions: {@code [CLS] q [SEP] c[docTokenStart : ...] [SEP] [PAD]...}.
 *
 * @param contextStart position of the first context token in this window
 * @param contextEnd position after the last context token
 * @param docTokenStart index into the context tokens of this window's first context token
 * @param offsets per position, the code-point range {@code [start, end)} of a context token, null elsewhere
 */
public record Window(
    int[] inputIds,
    int[] attentionMask,
    int[] tokenTypeIds,
    int contextStart,
    int contextEnd,
    int docTokenStart,
    int[][] offsets) {

  /** Whether {@code position} holds a context token (the only positions an answer may use). */
  public boolean isContext(int position) {
    return position >= contextStart && position < contextEnd;
  }

  /** Number of real (non-padding) tokens. */
  public int length() {
    return contextEnd + 1;
  }
}
