package dev.pocketbert.qa;

import java.util.ArrayList;
import java.util.List;

/** Greedy longest-match-first WordPiece, as in Hugging Face's WordPiece model ("##" continues a word). */
public final class WordPiece {
  public static final String CONTINUATION = "##";
  public static final String UNK = "[UNK]";

  private final Vocab vocab;
  private final int unkId;
  private final int maxInputCharsPerWord;

  public WordPiece(Vocab vocab, int maxInputCharsPerWord) {
    this.vocab = vocab;
    this.unkId = vocab.requireId(UNK);
    this.maxInputCharsPerWord = maxInputCharsPerWord;
  }

  /**
   * Splits one pre-tokenized word. A word longer than {@code maxInputCharsPerWord} code points, or one with a
   * part no vocabulary entry matches, becomes a single [UNK] spanning the whole word.
   */
  public void tokenize(BasicTokenizer.Word word, List<Token> out) {
    int[] cps = word.codePoints();
    int[] origin = word.origin();
    int n = cps.length;
    if (n > maxInputCharsPerWord) {
      out.add(new Token(UNK, unkId, origin[0], origin[n - 1] + 1));
      return;
    }
    List<Token> pieces = new ArrayList<>();
    int start = 0;
    while (start < n) {
      int end = n;
      int id = -1;
      String piece = null;
      while (start < end) {
        String sub = new String(cps, start, end - start);
        if (start > 0) {
          sub = CONTINUATION + sub;
        }
        id = vocab.id(sub);
        if (id >= 0) {
          piece = sub;
          break;
        }
        end--;
      }
      if (piece == null) {
        out.add(new Token(UNK, unkId, origin[0], origin[n - 1] + 1));
        return;
      }
      pieces.add(new Token(piece, id, origin[start], origin[end - 1] + 1));
      start = end;
    }
    out.addAll(pieces);
  }
}
