package dev.pocketbert.qa;

/**
 * The best span: {@code text = context[startChar, endChar)} in code points; {@code window} -1 (and score 0,
 * empty text) when no candidate satisfied the constraints.
 */
public record Answer(
    String text, int startChar, int endChar, double score, int window, int startToken, int endToken) {

  public static final Answer NONE = new Answer("", 0, 0, 0.0, -1, -1, -1);

  public boolean isEmpty() {
    return window < 0;
  }
}
