package dev.pocketbert.qa;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Hugging Face's BertNormalizer + BertPreTokenizer over Unicode code points, keeping for every normalized code
 * point the index of the original code point it came from, so that tokens map back to the passage.
 *
 * <p>Steps, in Hugging Face's order: clean text (drop NUL, U+FFFD and control/format/unassigned characters,
 * whitespace becomes a space), pad CJK ideographs with spaces, strip accents (NFD, drop non-spacing marks),
 * lowercase (full per-character mapping, so U+0130 becomes "i" + U+0307), then split on whitespace (dropped)
 * and punctuation (kept as one-character words). Because every step maps one original code point to zero or
 * more normalized ones, the alignment is exact.
 */
public final class BasicTokenizer {
  private final TokenizerConfig config;

  public BasicTokenizer(TokenizerConfig config) {
    this.config = config;
  }

  /** A pre-tokenized word: normalized code points and, per code point, its original code point index. */
  public record Word(int[] codePoints, int[] origin) {
    public String text() {
      return new String(codePoints, 0, codePoints.length);
    }

    @Override
    public String toString() {
      return text() + Arrays.toString(origin);
    }
  }

  /** Normalizes and splits the code points {@code cps[from, to)}; origins are indices into {@code cps}. */
  public List<Word> split(int[] cps, int from, int to) {
    IntList norm = new IntList(to - from + 8);
    IntList origin = new IntList(to - from + 8);
    boolean strip = config.stripsAccents();
    for (int i = from; i < to; i++) {
      int cp = cps[i];
      // clean_text
      if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
        continue;
      }
      if (isWhitespace(cp)) {
        cp = ' ';
      }
      // handle_chinese_chars
      boolean cjk = config.tokenizeChineseChars() && isCjk(cp);
      if (cjk) {
        norm.add(' ');
        origin.add(i);
      }
      int[] pieces = strip ? stripAccents(cp) : new int[] {cp};
      for (int p : pieces) {
        if (config.lowercase()) {
          for (int lower : lowercase(p)) {
            norm.add(lower);
            origin.add(i);
          }
        } else {
          norm.add(p);
          origin.add(i);
        }
      }
      if (cjk) {
        norm.add(' ');
        origin.add(i);
      }
    }
    return preTokenize(norm, origin);
  }

  public List<Word> split(int[] cps) {
    return split(cps, 0, cps.length);
  }

  private static List<Word> preTokenize(IntList norm, IntList origin) {
    List<Word> words = new ArrayList<>();
    int start = -1;
    for (int i = 0; i < norm.size(); i++) {
      int cp = norm.get(i);
      if (isWhitespace(cp)) {
        if (start >= 0) {
          words.add(word(norm, origin, start, i));
          start = -1;
        }
      } else if (isPunctuation(cp)) {
        if (start >= 0) {
          words.add(word(norm, origin, start, i));
          start = -1;
        }
        words.add(word(norm, origin, i, i + 1));
      } else if (start < 0) {
        start = i;
      }
    }
    if (start >= 0) {
      words.add(word(norm, origin, start, norm.size()));
    }
    return words;
  }

  private static Word word(IntList norm, IntList origin, int from, int to) {
    return new Word(norm.slice(from, to), origin.slice(from, to));
  }

  /** NFD of one code point without its non-spacing marks (Mn as the tokenizers crate knows them). */
  static int[] stripAccents(int cp) {
    if (cp < 0x80) {
      return new int[] {cp};
    }
    String nfd = Normalizer.normalize(new String(Character.toChars(cp)), Normalizer.Form.NFD);
    return nfd.codePoints().filter(c -> !UnicodeTables.contains(UnicodeTables.NONSPACING_MARK, c)).toArray();
  }

  /** Full (one-to-many) lowercase mapping of one code point, locale-independent and context-free. */
  static int[] lowercase(int cp) {
    if (cp < 0x80) {
      return new int[] {cp >= 'A' && cp <= 'Z' ? cp + 32 : cp};
    }
    return new String(Character.toChars(cp)).toLowerCase(Locale.ROOT).codePoints().toArray();
  }

  // The character classes below come from UnicodeTables (generated with the Swift core's tables by
  // ios_demo/QACore/scripts/gen_unicode_tables.py, measured from Hugging Face's tokenizer), not from
  // Character.getType: a phone's Unicode data (API 24 = Unicode 8) and the JDK's differ from the crate's.

  /** Turned into a space when cleaning, and splits words: the crate's whitespace plus newline and carriage return. */
  static boolean isWhitespace(int cp) {
    return cp == '\n' || cp == '\r' || UnicodeTables.contains(UnicodeTables.WHITESPACE, cp);
  }

  /** Dropped when cleaning: control/format/private-use characters as the crate knows them (not tab, newline, CR). */
  static boolean isControl(int cp) {
    return UnicodeTables.contains(UnicodeTables.CONTROL, cp);
  }

  /** ASCII punctuation (33-47, 58-64, 91-96, 123-126) or a Unicode P* category, as the crate knows them. */
  static boolean isPunctuation(int cp) {
    return UnicodeTables.contains(UnicodeTables.PUNCTUATION, cp);
  }

  /**
   * The CJK Unified Ideographs blocks BERT pads with spaces (not Hiragana, Katakana or Hangul), as the tokenizers
   * crate spells them: 0x2B920 where the old Python BasicTokenizer says 0x2B820 (the Swift core agrees).
   */
  static boolean isCjk(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF)
        || (cp >= 0x3400 && cp <= 0x4DBF)
        || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F)
        || (cp >= 0x2B740 && cp <= 0x2B81F)
        || (cp >= 0x2B920 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF)
        || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  /** A growable int array (avoids boxing on the hot path of long passages). */
  static final class IntList {
    private int[] a;
    private int n;

    IntList(int capacity) {
      a = new int[Math.max(4, capacity)];
    }

    void add(int v) {
      if (n == a.length) {
        a = Arrays.copyOf(a, n * 2);
      }
      a[n++] = v;
    }

    int get(int i) {
      return a[i];
    }

    int size() {
      return n;
    }

    int[] slice(int from, int to) {
      return Arrays.copyOfRange(a, from, to);
    }
  }
}
