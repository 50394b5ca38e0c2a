package dev.pocketbert.qa;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Replays every case of the golden vectors written by the Python reference ({@code pocketbert golden}, files in
 * tests/golden, CONTRACTS.md §4): tokens, ids, offsets, every window, errors and the decoded answer must match.
 * A missing golden dir is a failure, not a skip: without it nothing proves that the app tokenizes like training.
 */
@RunWith(Parameterized.class)
public class GoldenVectorsTest {
  private static final double SCORE_TOLERANCE = 1e-5;
  private static final Map<Path, Vocab> VOCABS = new HashMap<>();

  private final String name;
  private final Json.Obj c;
  private final Path dir;

  public GoldenVectorsTest(String name, Json.Obj c, Path dir) {
    this.name = name;
    this.c = c;
    this.dir = dir;
  }

  /** tests/golden: the {@code pocketbert.golden.dir} property (set by run-tests.sh) or relative to the repo. */
  static Path goldenDir() {
    String prop = System.getProperty("pocketbert.golden.dir");
    if (prop != null && !prop.isEmpty()) {
      return Paths.get(prop);
    }
    // Gradle runs tests in android_demo/qa-core; an IDE may run them from the repo root.
    for (String candidate : new String[] {"../../tests/golden", "tests/golden", "../tests/golden"}) {
      Path p = Paths.get(candidate);
      if (Files.isDirectory(p)) {
        return p;
      }
    }
    return Paths.get("../../tests/golden");
  }

  static String read(Path p) throws IOException {
    return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
  }

  @Parameters(name = "{0}")
  public static Collection<Object[]> cases() throws IOException {
    Path dir = goldenDir().toAbsolutePath().normalize();
    Path index = dir.resolve("index.json");
    if (!Files.isRegularFile(index)) {
      throw new AssertionError(
          "golden vectors not found at " + index + "; run `make golden` or pass -Dpocketbert.golden.dir=DIR");
    }
    Json.Obj idx = new Json.Obj(Json.parseObject(read(index)), index.toString());
    List<String> names = idx.strings("cases");
    if (names.isEmpty()) {
      throw new AssertionError(index + " lists no cases");
    }
    List<Object[]> out = new ArrayList<>();
    for (String n : names) {
      Path f = dir.resolve(n + ".json");
      out.add(new Object[] {n, new Json.Obj(Json.parseObject(read(f)), f.toString()), dir});
    }
    return out;
  }

  private BertTokenizer tokenizer() throws IOException {
    Path vocabPath = dir.resolve(c.str("vocab")).normalize();
    Vocab vocab;
    synchronized (VOCABS) {
      vocab = VOCABS.get(vocabPath);
      if (vocab == null) {
        vocab = Vocab.load(vocabPath.toFile());
        VOCABS.put(vocabPath, vocab);
      }
    }
    TokenizerConfig cfg =
        new TokenizerConfig(c.bool("lowercase"), c.nullableBool("strip_accents"), c.bool("tokenize_chinese_chars"));
    return new BertTokenizer(vocab, cfg);
  }

  private QaFeatures features(BertTokenizer tok) {
    return QaFeatures.build(
        tok, c.str("question"), c.str("context"), c.integer("max_seq_len"), c.integer("doc_stride"),
        c.integer("max_query_len"));
  }

  @Test
  public void matchesPythonReference() throws IOException {
    BertTokenizer tok = tokenizer();
    String expectError = c.optStr("expect_error", null);
    if (expectError != null) {
      try {
        features(tok);
        fail(name + ": expected error " + expectError);
      } catch (QaException e) {
        assertEquals(name + ": error code", expectError, e.code());
      }
      return;
    }
    QaFeatures f = features(tok);

    assertEquals(name + ": question tokens", c.strings("question_tokens"), texts(f.questionTokens()));
    assertArrayEquals(name + ": question ids", c.ints("question_ids"), ids(f.questionTokens()));
    assertEquals(name + ": context tokens", c.strings("context_tokens"), texts(f.contextTokens()));
    assertArrayEquals(name + ": context ids", c.ints("context_ids"), ids(f.contextTokens()));
    List<Object> offs = c.list("context_offsets");
    assertEquals(name + ": context offsets count", offs.size(), f.contextTokens().size());
    for (int i = 0; i < offs.size(); i++) {
      Token t = f.contextTokens().get(i);
      assertArrayEquals(
          name + ": offsets of context token " + i + " '" + t.text() + "'",
          Json.toInts(asList(offs.get(i)), "context_offsets"),
          new int[] {t.start(), t.end()});
    }

    List<Json.Obj> windows = c.objList("windows");
    assertEquals(name + ": window count", windows.size(), f.windows().size());
    for (int w = 0; w < windows.size(); w++) {
      Json.Obj ew = windows.get(w);
      Window aw = f.windows().get(w);
      String at = name + " window " + w + ": ";
      assertArrayEquals(at + "input_ids", ew.ints("input_ids"), aw.inputIds());
      assertArrayEquals(at + "attention_mask", ew.ints("attention_mask"), aw.attentionMask());
      assertArrayEquals(at + "token_type_ids", ew.ints("token_type_ids"), aw.tokenTypeIds());
      assertEquals(at + "context_start", ew.integer("context_start"), aw.contextStart());
      assertEquals(at + "context_end", ew.integer("context_end"), aw.contextEnd());
      assertEquals(at + "doc_token_start", ew.integer("doc_token_start"), aw.docTokenStart());
      List<Object> wo = ew.list("offsets");
      assertEquals(at + "offsets length", wo.size(), aw.offsets().length);
      for (int p = 0; p < wo.size(); p++) {
        if (wo.get(p) == null) {
          assertNull(at + "offset at position " + p, aw.offsets()[p]);
        } else {
          assertArrayEquals(at + "offset at position " + p, Json.toInts(asList(wo.get(p)), "offsets"), aw.offsets()[p]);
        }
      }
    }

    double[][] start = matrix(c.list("start_logits"));
    double[][] end = matrix(c.list("end_logits"));
    Answer a = SpanDecoder.bestSpan(f, start, end, c.integer("max_answer_len"), c.integer("top_k"));
    Json.Obj e = c.obj("expected_answer");
    assertEquals(name + ": answer window", e.integer("window"), a.window());
    assertEquals(name + ": answer start token", e.integer("start_token"), a.startToken());
    assertEquals(name + ": answer end token", e.integer("end_token"), a.endToken());
    assertEquals(name + ": answer start_char", e.integer("start_char"), a.startChar());
    assertEquals(name + ": answer end_char", e.integer("end_char"), a.endChar());
    assertEquals(name + ": answer text", e.str("text"), a.text());
    assertEquals(name + ": answer score", e.dbl("score"), a.score(), SCORE_TOLERANCE);
  }

  @SuppressWarnings("unchecked")
  private static List<Object> asList(Object o) {
    return (List<Object>) o;
  }

  private static double[][] matrix(List<Object> rows) {
    double[][] out = new double[rows.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = Json.toDoubles(asList(rows.get(i)), "logits");
    }
    return out;
  }

  private static List<String> texts(List<Token> ts) {
    List<String> out = new ArrayList<>();
    for (Token t : ts) {
      out.add(t.text());
    }
    return out;
  }

  private static int[] ids(List<Token> ts) {
    return ts.stream().mapToInt(Token::id).toArray();
  }
}
