package dev.pocketbert.qa;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class JsonTest {
  @Test
  public void parsesEveryValueKind() {
    Map<String, Object> m =
        Json.parseObject("{\"a\": [1, -2.5, 3e2, true, false, null], \"b\": {\"c\": \"x\\\"y\\n\\u00e9\\ud83d\\ude00\"}}");
    List<?> a = (List<?>) m.get("a");
    assertEquals(1L, a.get(0));
    assertEquals(-2.5, a.get(1));
    assertEquals(300.0, a.get(2));
    assertEquals(Boolean.TRUE, a.get(3));
    assertEquals(Boolean.FALSE, a.get(4));
    assertNull(a.get(5));
    assertEquals("x\"y\né😀", ((Map<?, ?>) m.get("b")).get("c"));
  }

  @Test
  public void rejectsMalformedDocuments() {
    for (String bad : new String[] {"{", "[1,]", "{\"a\" 1}", "tru", "[1] x", "\"a\nb\"", "{\"a\":01x}", "\"\\q\""}) {
      try {
        Json.parse(bad);
        fail("accepted " + bad);
      } catch (IllegalArgumentException e) {
        assertTrue(e.getMessage(), e.getMessage().startsWith("JSON: "));
      }
    }
  }

  @Test
  public void writesWhatItReads() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("s", "tab\t quote\" back\\ ctl\u0001 emoji 😀");
    m.put("n", 42L);
    m.put("d", 0.125);
    m.put("whole", 3.0);
    m.put("tiny", 1e-9);
    m.put("list", Arrays.asList(1L, 2L, null));
    m.put("empty", new LinkedHashMap<>());
    m.put("objs", Arrays.asList(Map.of("k", true)));
    String text = Json.write(m);
    assertEquals(m, Json.parse(text));
    assertTrue(text, text.contains("\"whole\": 3.0"));
  }

  @Test
  public void typedAccessNamesTheBadKey() {
    Json.Obj o = new Json.Obj(Json.parseObject("{\"n\": \"x\", \"t\": {\"v\": null}}"), "manifest.json");
    try {
      o.integer("n");
      fail();
    } catch (IllegalArgumentException e) {
      assertEquals("manifest.json: 'n' must be an integer", e.getMessage());
    }
    try {
      o.obj("t").str("missing");
      fail();
    } catch (IllegalArgumentException e) {
      assertEquals("manifest.json.t: missing key 'missing'", e.getMessage());
    }
    assertNull(o.obj("t").nullableBool("v"));
  }
}
