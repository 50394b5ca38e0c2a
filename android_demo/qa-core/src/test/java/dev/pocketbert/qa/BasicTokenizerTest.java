package dev.pocketbert.qa;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class BasicTokenizerTest {
  private static List<String> words(TokenizerConfig cfg, String text) {
    List<String> out = new ArrayList<>();
    for (BasicTokenizer.Word w : new BasicTokenizer(cfg).split(text.codePoints().toArray())) {
      out.add(w.text());
    }
    return out;
  }

  private static List<String> uncased(String text) {
    return words(TokenizerConfig.UNCASED, text);
  }

  @Test
  public void lowercasesAndSplitsPunctuationOffWords() {
    assertEquals(List.of("hello", ",", "world", "!"), uncased("Hello, World!"));
    assertEquals(List.of("a", "/", "b", "x", "-", "y", "$", "5", "^", "2", "`", "q", "`"), uncased("a/b x-y $5^2 `q`"));
  }

  @Test
  public void unicodePunctuationIsSplitButSymbolsAreNot() {
    // « » “ ” — … are Unicode P* categories; € (Sc) and © (So) are not punctuation outside ASCII.
    assertEquals(List.of("«", "oui", "»", "“", "no", "”", "a", "—", "b", "…"), uncased("«oui» “no” a—b…"));
    assertEquals(List.of("5€", "©x"), uncased("5€ ©x"));
  }

  @Test
  public void stripsAccentsWhenLowercasingByDefault() {
    assertEquals(List.of("zoe", "cafe", "creme", "zurich", "strasse"), uncased("Zoë café crème Zürich STRASSE"));
    // ß has no decomposition, stays.
    assertEquals(List.of("straße"), uncased("Straße"));
  }

  @Test
  public void keepsAccentsWhenAskedTo() {
    assertEquals(List.of("café", "société"), words(new TokenizerConfig(true, false, true), "Café Société"));
    assertEquals(List.of("Café"), words(new TokenizerConfig(false, null, true), "Café"));
    // strip without lowercase
    assertEquals(List.of("Cafe"), words(new TokenizerConfig(false, true, true), "Café"));
  }

  @Test
  public void padsCjkIdeographsButNotKanaOrHangul() {
    assertEquals(List.of("寿", "司", "and", "東", "京"), uncased("寿司and東京"));
    assertEquals(List.of("あいう"), uncased("あいう"));
    assertEquals(List.of("寿司"), words(new TokenizerConfig(true, null, false), "寿司"));
  }

  @Test
  public void cleansControlCharactersAndMapsWhitespace() {
    // NUL, BEL, U+FFFD, zero-width space (Cf) vanish; tab, newline, NBSP, ideographic space separate words.
    assertEquals(List.of("ab", "c", "d", "e", "f"), uncased("a\u0000b\u0007\ufffd\u200b c\td\u00a0e\u3000f"));
    assertTrue(uncased(" \t\r\n ").isEmpty());
  }

  @Test
  public void everyNormalizedCharacterPointsBackToItsOriginalCodePoint() {
    // "é" (1 code point) NFD -> e + U+0301, mark dropped; the emoji is one code point but two UTF-16 units.
    int[] cps = "😀 Éa\u0000b 東".codePoints().toArray();
    List<BasicTokenizer.Word> ws = new BasicTokenizer(TokenizerConfig.UNCASED).split(cps);
    assertEquals(3, ws.size());
    assertArrayEquals(new int[] {0}, ws.get(0).origin());
    assertEquals("eab", ws.get(1).text());
    assertArrayEquals(new int[] {2, 3, 5}, ws.get(1).origin());
    assertArrayEquals(new int[] {7}, ws.get(2).origin());
  }

  @Test
  public void dottedCapitalIUsesTheFullLowercaseMapping() {
    // U+0130 lowercases to "i" + U+0307; with accents kept the combining dot stays in the word.
    assertEquals(List.of("i\u0307stanbul"), words(new TokenizerConfig(true, false, true), "İstanbul"));
    assertEquals(List.of("istanbul"), uncased("İstanbul"));
    // Final sigma is lowercased per character (σ), as Hugging Face does, not contextually (ς).
    assertEquals(List.of("οδοσ"), words(new TokenizerConfig(true, false, true), "ΟΔΟΣ"));
  }

  @Test
  public void characterClasses() {
    assertTrue(BasicTokenizer.isPunctuation('~'));
    assertTrue(BasicTokenizer.isPunctuation('¿'));
    assertFalse(BasicTokenizer.isPunctuation('€'));
    assertTrue(BasicTokenizer.isControl(0x200B));
    assertFalse(BasicTokenizer.isControl('\n'));
    assertTrue(BasicTokenizer.isWhitespace(0x2003));
    assertTrue(BasicTokenizer.isCjk(0x20000));
    assertFalse(BasicTokenizer.isCjk('あ'));
  }
}
