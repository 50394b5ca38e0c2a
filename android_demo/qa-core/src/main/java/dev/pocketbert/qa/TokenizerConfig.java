package dev.pocketbert.qa;

/**
 * The settings of Hugging Face's BertNormalizer / WordPiece that an artifact's manifest carries.
 *
 * @param stripAccents null follows {@code lowercase}, as in Hugging Face
 */
public record TokenizerConfig(
    boolean lowercase, Boolean stripAccents, boolean tokenizeChineseChars, int maxInputCharsPerWord) {

  /** Words longer than this many code points become [UNK] (Hugging Face's default). */
  public static final int DEFAULT_MAX_INPUT_CHARS_PER_WORD = 100;

  /** The uncased BERT setting (lowercase, strip accents, pad CJK). */
  public static final TokenizerConfig UNCASED = new TokenizerConfig(true, null, true, DEFAULT_MAX_INPUT_CHARS_PER_WORD);

  public TokenizerConfig(boolean lowercase, Boolean stripAccents, boolean tokenizeChineseChars) {
    this(lowercase, stripAccents, tokenizeChineseChars, DEFAULT_MAX_INPUT_CHARS_PER_WORD);
  }

  /** Whether accents are stripped once {@code null} is resolved. */
  public boolean stripsAccents() {
    return stripAccents == null ? lowercase : stripAccents;
  }
}
