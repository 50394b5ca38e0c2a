package dev.pocketbert.qa;

/**
 * An unusable question or context. {@link #code()} is the golden-vector {@code expect_error} name
 * ({@code empty_question} / {@code empty_context}), so apps can show a specific message.
 */
public final class QaException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  public static final String EMPTY_QUESTION = "empty_question";
  public static final String EMPTY_CONTEXT = "empty_context";
  public static final String BAD_SETTINGS = "bad_settings";

  private final String code;

  public QaException(String code, String message) {
    super(message);
    this.code = code;
  }

  public String code() {
    return code;
  }
}
