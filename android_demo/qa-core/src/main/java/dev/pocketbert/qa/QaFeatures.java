package dev.pocketbert.qa;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A question and a passage split into padded windows over the passage (CONTRACTS.md §3; the rule is the
 * docstring of pocketbert/core/qa.py): windows hold {@code cap = maxSeqLen - len(q) - 3} context tokens, start at
 * 0 and advance by {@code cap - docStride} until one reaches the end of the passage.
 */
public final class QaFeatures {
  /** Special tokens around the question and the context: [CLS] q [SEP] c [SEP]. */
  public static final int N_SPECIAL_TOKENS = 3;

  public static final int DEFAULT_MAX_SEQ_LEN = 384;
  public static final int DEFAULT_DOC_STRIDE = 128;
  public static final int DEFAULT_MAX_QUERY_LEN = 64;

  private final String context;
  private final int[] contextCodePoints;
  private final List<Token> questionTokens;
  private final List<Token> contextTokens;
  private final List<Window> windows;
  private final int maxSeqLen;

  private QaFeatures(
      String context,
      int[] contextCodePoints,
      List<Token> questionTokens,
      List<Token> contextTokens,
      List<Window> windows,
      int maxSeqLen) {
    this.context = context;
    this.contextCodePoints = contextCodePoints;
    this.questionTokens = Collections.unmodifiableList(questionTokens);
    this.contextTokens = Collections.unmodifiableList(contextTokens);
    this.windows = Collections.unmodifiableList(windows);
    this.maxSeqLen = maxSeqLen;
  }

  /** The question's and passage's tokens before windowing (the question already truncated). */
  public record Tokenized(int[] contextCodePoints, List<Token> question, List<Token> context) {}

  /**
   * Tokenizes both texts, truncating the question to {@code maxQueryLen} tokens.
   *
   * @throws QaException {@code empty_question} / {@code empty_context} for a blank or token-less text
   */
  public static Tokenized tokenize(BertTokenizer tokenizer, String question, String context, int maxQueryLen) {
    if (question == null || isBlank(question)) {
      throw new QaException(QaException.EMPTY_QUESTION, "the question is empty; type a question with words in it");
    }
    if (context == null || isBlank(context)) {
      throw new QaException(QaException.EMPTY_CONTEXT, "the passage is empty; paste a passage to search for the answer");
    }
    List<Token> q = tokenizer.tokenize(question);
    if (q.isEmpty()) {
      throw new QaException(QaException.EMPTY_QUESTION, "the question has no tokens; type a question with words in it");
    }
    if (q.size() > maxQueryLen) {
      q = new ArrayList<>(q.subList(0, maxQueryLen));
    }
    int[] cps = context.codePoints().toArray();
    List<Token> c = tokenizer.tokenize(cps);
    if (c.isEmpty()) {
      throw new QaException(QaException.EMPTY_CONTEXT, "the passage has no tokens; paste a passage to search for the answer");
    }
    return new Tokenized(cps, q, c);
  }

  public static QaFeatures build(
      BertTokenizer tokenizer, String question, String context, int maxSeqLen, int docStride, int maxQueryLen) {
    return build(tokenizer, context, tokenize(tokenizer, question, context, maxQueryLen), maxSeqLen, docStride);
  }

  /** Windows over already tokenized texts (lets an app tokenize once, then pick the sequence length). */
  public static QaFeatures build(
      BertTokenizer tokenizer, String context, Tokenized tok, int maxSeqLen, int docStride) {
    List<Token> q = tok.question();
    List<Token> c = tok.context();
    int cap = maxSeqLen - q.size() - N_SPECIAL_TOKENS;
    List<Integer> starts = windowStarts(c.size(), cap, docStride, maxSeqLen);
    int cls = tokenizer.clsId();
    int sep = tokenizer.sepId();
    int pad = tokenizer.padId();
    int head = q.size() + 2; // [CLS] q [SEP]
    List<Window> windows = new ArrayList<>(starts.size());
    for (int start : starts) {
      int end = Math.min(start + cap, c.size());
      int[] ids = new int[maxSeqLen];
      int[] mask = new int[maxSeqLen];
      int[] types = new int[maxSeqLen];
      int[][] offsets = new int[maxSeqLen][];
      Arrays.fill(ids, pad);
      int p = 0;
      ids[p++] = cls;
      for (Token t : q) {
        ids[p++] = t.id();
      }
      ids[p++] = sep;
      for (int k = start; k < end; k++) {
        Token t = c.get(k);
        offsets[p] = new int[] {t.start(), t.end()};
        types[p] = 1;
        ids[p++] = t.id();
      }
      types[p] = 1;
      ids[p++] = sep;
      Arrays.fill(mask, 0, p, 1);
      windows.add(new Window(ids, mask, types, head, head + end - start, start, offsets));
    }
    return new QaFeatures(context, tok.contextCodePoints(), q, c, windows, maxSeqLen);
  }

  /** First context-token index of each window (the rule in the class comment). */
  public static List<Integer> windowStarts(int nContext, int cap, int docStride, int maxSeqLen) {
    if (cap <= docStride) {
      throw new QaException(
          QaException.BAD_SETTINGS,
          "max_seq_len " + maxSeqLen + " leaves " + cap + " context tokens per window, not more than doc_stride="
              + docStride + "; raise max_seq_len or lower doc_stride / max_query_len");
    }
    int step = cap - docStride;
    List<Integer> starts = new ArrayList<>();
    starts.add(0);
    while (starts.get(starts.size() - 1) + cap < nContext) {
      starts.add(starts.get(starts.size() - 1) + step);
    }
    return starts;
  }

  /** Python's str.strip() emptiness: Unicode space separators and the B/S/WS bidi classes count as blank. */
  static boolean isBlank(String s) {
    return s.codePoints().allMatch(QaFeatures::isPythonSpace);
  }

  private static boolean isPythonSpace(int cp) {
    if (Character.getType(cp) == Character.SPACE_SEPARATOR) {
      return true;
    }
    byte d = Character.getDirectionality(cp);
    return d == Character.DIRECTIONALITY_WHITESPACE
        || d == Character.DIRECTIONALITY_PARAGRAPH_SEPARATOR
        || d == Character.DIRECTIONALITY_SEGMENT_SEPARATOR;
  }

  public String context() {
    return context;
  }

  public int[] contextCodePoints() {
    return contextCodePoints;
  }

  public List<Token> questionTokens() {
    return questionTokens;
  }

  public List<Token> contextTokens() {
    return contextTokens;
  }

  public List<Window> windows() {
    return windows;
  }

  public int maxSeqLen() {
    return maxSeqLen;
  }

  /** The passage's code points {@code [start, end)} as a string. */
  public String contextSlice(int start, int end) {
    return new String(contextCodePoints, start, end - start);
  }
}
