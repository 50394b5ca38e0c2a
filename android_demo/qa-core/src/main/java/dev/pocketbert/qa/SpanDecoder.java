package dev.pocketbert.qa;

import java.util.Arrays;
import java.util.List;

/**
 * Constrained best-span decoding over all windows (CONTRACTS.md §3): positions that are not context tokens get
 * logit -10000, start and end logits are soft-maxed separately (in double), the top-k starts x top-k ends with
 * {@code start <= end} and {@code end - start + 1 <= maxAnswerLen} are scored {@code p_start * p_end}; the best
 * score wins, exact ties going to the earlier window, then the earlier start, then the earlier end.
 * Independent argmaxes would allow an end before the start or a span in the question, hence the constraints.
 */
public final class SpanDecoder {
  public static final double MASKED_LOGIT = -10000.0;
  public static final int DEFAULT_MAX_ANSWER_LEN = 30;
  public static final int DEFAULT_TOP_K = 20;

  private SpanDecoder() {}

  /** Decodes float logits (what a model returns), one row per window. */
  public static Answer bestSpan(QaFeatures f, float[][] startLogits, float[][] endLogits, int maxAnswerLen, int topK) {
    return bestSpan(f, toDouble(startLogits), toDouble(endLogits), maxAnswerLen, topK);
  }

  public static Answer bestSpan(QaFeatures f, double[][] startLogits, double[][] endLogits, int maxAnswerLen, int topK) {
    List<Window> windows = f.windows();
    if (startLogits.length != windows.size() || endLogits.length != windows.size()) {
      throw new IllegalArgumentException(
          "got logits for " + startLogits.length + "/" + endLogits.length + " windows, expected " + windows.size());
    }
    double bestScore = -1;
    int bestW = -1;
    int bestS = -1;
    int bestE = -1;
    for (int w = 0; w < windows.size(); w++) {
      Window win = windows.get(w);
      int n = win.inputIds().length;
      if (startLogits[w].length != n || endLogits[w].length != n) {
        throw new IllegalArgumentException("window " + w + ": logits must have " + n + " positions");
      }
      double[] pStart = maskedSoftmax(startLogits[w], win);
      double[] pEnd = maskedSoftmax(endLogits[w], win);
      int[] starts = topK(pStart, topK);
      int[] ends = topK(pEnd, topK);
      for (int s : starts) {
        if (!win.isContext(s)) {
          continue;
        }
        for (int e : ends) {
          if (!win.isContext(e) || e < s || e - s + 1 > maxAnswerLen) {
            continue;
          }
          double score = pStart[s] * pEnd[e];
          // Windows are visited in order, so a later window only wins with a strictly higher score.
          boolean better =
              bestW < 0
                  || score > bestScore
                  || (score == bestScore && w == bestW && (s < bestS || (s == bestS && e < bestE)));
          if (better) {
            bestScore = score;
            bestW = w;
            bestS = s;
            bestE = e;
          }
        }
      }
    }
    if (bestW < 0) {
      return Answer.NONE;
    }
    int[][] offsets = windows.get(bestW).offsets();
    int startChar = offsets[bestS][0];
    int endChar = offsets[bestE][1];
    return new Answer(f.contextSlice(startChar, endChar), startChar, endChar, bestScore, bestW, bestS, bestE);
  }

  /** Softmax over all positions, non-context positions set to {@link #MASKED_LOGIT} first. */
  static double[] maskedSoftmax(double[] logits, Window win) {
    int n = logits.length;
    double[] x = new double[n];
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      x[i] = win.isContext(i) ? logits[i] : MASKED_LOGIT;
      max = Math.max(max, x[i]);
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
      x[i] = Math.exp(x[i] - max);
      sum += x[i];
    }
    for (int i = 0; i < n; i++) {
      x[i] /= sum;
    }
    return x;
  }

  /** Indices of the k largest values, largest first; equal values keep the lower index first (stable). */
  static int[] topK(double[] p, int k) {
    Integer[] idx = new Integer[p.length];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i;
    }
    // List.sort is stable; compare with < and > so that 0.0 and -0.0 are equal, as numpy's argsort has them.
    Arrays.sort(idx, (a, b) -> p[a] > p[b] ? -1 : (p[a] < p[b] ? 1 : 0));
    int m = Math.min(k, idx.length);
    int[] out = new int[m];
    for (int i = 0; i < m; i++) {
      out[i] = idx[i];
    }
    return out;
  }

  static double[][] toDouble(float[][] a) {
    double[][] out = new double[a.length][];
    for (int i = 0; i < a.length; i++) {
      out[i] = new double[a[i].length];
      for (int j = 0; j < a[i].length; j++) {
        out[i][j] = a[i][j];
      }
    }
    return out;
  }
}
