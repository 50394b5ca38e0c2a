package dev.pocketbert.qa;

/**
 * Converts the code-point offsets of the contracts to UTF-16 indices (what Android's String, TextView and
 * Spannable use): they differ as soon as the passage holds a character outside the BMP, e.g. an emoji.
 */
public final class Utf16 {
  private Utf16() {}

  /** The UTF-16 index of code point {@code codePointIndex} in {@code text} (its length for the end). */
  public static int index(String text, int codePointIndex) {
    return text.offsetByCodePoints(0, codePointIndex);
  }

  /** {@code [start, end)} code points as a UTF-16 {@code [start, end)} pair. */
  public static int[] range(String text, int startCodePoint, int endCodePoint) {
    int start = index(text, startCodePoint);
    return new int[] {start, text.offsetByCodePoints(start, endCodePoint - startCodePoint)};
  }

  /** The answer's UTF-16 range in its passage, e.g. for highlighting it in a TextView. */
  public static int[] range(String passage, Answer answer) {
    return range(passage, answer.startChar(), answer.endChar());
  }
}
