package dev.pocketbert.qa;

import java.util.List;

/**
 * A QA model with static input shapes, one per sequence length (a LiteRT signature {@code seq_<S>}, a Core ML
 * model, or a fake in tests). Implementations need not be thread-safe; {@link QaPipeline} calls them serially.
 */
public interface QaModel {
  /** Start and end logits of one window, each of length S. */
  record Logits(float[] start, float[] end) {}

  /** The sequence lengths the model was converted for, ascending. */
  List<Integer> seqLens();

  /** Runs one window whose three inputs all have length {@code seqLen} (one of {@link #seqLens()}). */
  Logits run(int seqLen, int[] inputIds, int[] attentionMask, int[] tokenTypeIds) throws Exception;
}
