package dev.pocketbert.qa;

import java.util.ArrayList;
import java.util.List;

/**
 * BERT tokenization of a passage or question into WordPiece tokens with code-point offsets into the original
 * text, matching Hugging Face's fast BertTokenizer called with {@code add_special_tokens=False}.
 *
 * <p>Like Hugging Face, the special tokens ([PAD], [UNK], [CLS], [SEP], [MASK]) written literally in the
 * text are matched before normalization and kept as themselves.
 */
public final class BertTokenizer {
  public static final String CLS = "[CLS]";
  public static final String SEP = "[SEP]";
  public static final String PAD = "[PAD]";
  public static final String MASK = "[MASK]";
  private static final String[] SPECIAL = {PAD, WordPiece.UNK, CLS, SEP, MASK};

  private final Vocab vocab;
  private final TokenizerConfig config;
  private final BasicTokenizer basic;
  private final WordPiece wordPiece;
  private final int[][] specialCps;
  private final int[] specialIds;

  public BertTokenizer(Vocab vocab, TokenizerConfig config) {
    this.vocab = vocab;
    this.config = config;
    this.basic = new BasicTokenizer(config);
    this.wordPiece = new WordPiece(vocab, config.maxInputCharsPerWord());
    List<int[]> cps = new ArrayList<>();
    List<Integer> ids = new ArrayList<>();
    for (String s : SPECIAL) {
      int id = vocab.id(s);
      if (id >= 0) {
        cps.add(s.codePoints().toArray());
        ids.add(id);
      }
    }
    this.specialCps = cps.toArray(new int[0][]);
    this.specialIds = ids.stream().mapToInt(Integer::intValue).toArray();
  }

  public Vocab vocab() {
    return vocab;
  }

  public TokenizerConfig config() {
    return config;
  }

  public int clsId() {
    return vocab.requireId(CLS);
  }

  public int sepId() {
    return vocab.requireId(SEP);
  }

  /** [PAD]'s id, 0 when the vocabulary has none (as the Python reference does). */
  public int padId() {
    int id = vocab.id(PAD);
    return id < 0 ? 0 : id;
  }

  public List<Token> tokenize(String text) {
    return tokenize(text.codePoints().toArray());
  }

  /** Tokens of the code points {@code cps}; offsets are indices into {@code cps}. */
  public List<Token> tokenize(int[] cps) {
    List<Token> out = new ArrayList<>();
    int segment = 0;
    int i = 0;
    while (i < cps.length) {
      int special = specialAt(cps, i);
      if (special < 0) {
        i++;
        continue;
      }
      tokenizeSegment(cps, segment, i, out);
      int len = specialCps[special].length;
      out.add(new Token(specialText(special), specialIds[special], i, i + len));
      i += len;
      segment = i;
    }
    tokenizeSegment(cps, segment, cps.length, out);
    return out;
  }

  private String specialText(int special) {
    return new String(specialCps[special], 0, specialCps[special].length);
  }

  private int specialAt(int[] cps, int i) {
    if (cps[i] != '[') {
      return -1;
    }
    outer:
    for (int s = 0; s < specialCps.length; s++) {
      int[] sp = specialCps[s];
      if (i + sp.length > cps.length) {
        continue;
      }
      for (int k = 0; k < sp.length; k++) {
        if (cps[i + k] != sp[k]) {
          continue outer;
        }
      }
      return s;
    }
    return -1;
  }

  private void tokenizeSegment(int[] cps, int from, int to, List<Token> out) {
    if (from >= to) {
      return;
    }
    for (BasicTokenizer.Word w : basic.split(cps, from, to)) {
      wordPiece.tokenize(w, out);
    }
  }
}
