package dev.pocketbert.qa;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Test;

/**
 * The Java character classes are the Swift core's, generated together by
 * ios_demo/QACore/scripts/gen_unicode_tables.py from Hugging Face's tokenizer: a phone's own Unicode data must
 * not decide how a passage is split (golden vectors cover only a few characters).
 */
public class UnicodeTablesTest {
  static final String SWIFT_TABLES = "ios_demo/QACore/Sources/QACore/UnicodeTables.swift";

  /** The Swift tables file: the {@code pocketbert.swift.tables} property (run-tests.sh, Gradle) or repo-relative. */
  static Path swiftTables() {
    String prop = System.getProperty("pocketbert.swift.tables");
    if (prop != null && !prop.isEmpty()) {
      return Paths.get(prop);
    }
    for (String prefix : new String[] {"../../", "", "../"}) {
      Path p = Paths.get(prefix + SWIFT_TABLES);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    return Paths.get("../../" + SWIFT_TABLES);
  }

  /** The [first, last] pairs of `static let <name>: [ClosedRange<UInt32>] = [ ... ]` in the Swift file. */
  static int[] swiftTable(String source, String name) {
    int start = source.indexOf("static let " + name + ":");
    assertTrue("no table " + name + " in " + SWIFT_TABLES, start >= 0);
    int open = source.indexOf("= [", start);
    int close = source.indexOf("]\n", open + 3);
    Matcher m = Pattern.compile("0x([0-9A-F]+)\\.\\.\\.0x([0-9A-F]+)").matcher(source.substring(open, close));
    List<Integer> out = new ArrayList<>();
    while (m.find()) {
      out.add(Integer.parseInt(m.group(1), 16));
      out.add(Integer.parseInt(m.group(2), 16));
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  @Test
  public void javaTablesAreTheSwiftTables() throws IOException {
    Path path = swiftTables();
    assertTrue(path + " is missing; pass -Dpocketbert.swift.tables=FILE", Files.isRegularFile(path));
    String swift = new String(Files.readAllBytes(path), StandardCharsets.UTF_8);
    assertArrayEquals(swiftTable(swift, "control"), UnicodeTables.CONTROL);
    assertArrayEquals(swiftTable(swift, "whitespace"), UnicodeTables.WHITESPACE);
    assertArrayEquals(swiftTable(swift, "punctuation"), UnicodeTables.PUNCTUATION);
    assertArrayEquals(swiftTable(swift, "nonspacingMark"), UnicodeTables.NONSPACING_MARK);
  }

  @Test
  public void tablesAreSortedDisjointPairs() {
    for (int[] t : new int[][] {
        UnicodeTables.CONTROL, UnicodeTables.WHITESPACE, UnicodeTables.PUNCTUATION, UnicodeTables.NONSPACING_MARK}) {
      assertEquals(0, t.length % 2);
      for (int i = 0; i < t.length; i += 2) {
        assertTrue(t[i] <= t[i + 1]);
        assertTrue(i == 0 || t[i - 1] < t[i]);
      }
    }
  }

  @Test
  public void classesFollowTheTokenizerNotTheJdk() {
    // U+0378 is unassigned: the JDK calls it Cn (and the old code dropped it), Hugging Face keeps it.
    assertFalse(BasicTokenizer.isControl(0x378));
    assertTrue(BasicTokenizer.isControl(0x200B));  // zero width space (Cf) is dropped
    assertTrue(BasicTokenizer.isControl(0xE000));  // private use
    assertFalse(BasicTokenizer.isControl('\t'));
    assertTrue(BasicTokenizer.isWhitespace('\t') && BasicTokenizer.isWhitespace('\n'));
    assertTrue(BasicTokenizer.isWhitespace(0x3000));
    assertTrue(BasicTokenizer.isPunctuation('$') && BasicTokenizer.isPunctuation(0x2014));
    assertFalse(BasicTokenizer.isPunctuation(0x20AC));  // euro sign (Sc)
    assertTrue(UnicodeTables.contains(UnicodeTables.NONSPACING_MARK, 0x301));
    // Python: "a\u0378b" is one word ([UNK]); U+2B820 is not padded as CJK but U+2B920 is.
    BasicTokenizer basic = new BasicTokenizer(TokenizerConfig.UNCASED);
    List<BasicTokenizer.Word> kept = basic.split("a\u0378b".codePoints().toArray());
    assertEquals(1, kept.size());
    assertEquals("a\u0378b", kept.get(0).text());
    assertEquals(1, basic.split(new int[] {'a', 0x2B820, 'b'}).size());
    assertEquals(3, basic.split(new int[] {'a', 0x2B920, 'b'}).size());
    assertFalse(UnicodeTables.contains(UnicodeTables.NONSPACING_MARK, 'e'));
  }
}
