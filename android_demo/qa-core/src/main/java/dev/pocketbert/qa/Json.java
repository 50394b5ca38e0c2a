package dev.pocketbert.qa;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader and writer: qa-core may not depend on anything outside the JDK, and the JDK has no JSON.
 *
 * <p>Values map to {@code Map<String,Object>} (insertion ordered), {@code List<Object>}, {@code String},
 * {@code Long} (integers without fraction or exponent), {@code Double}, {@code Boolean} and {@code null}.
 */
public final class Json {
  private final String s;
  private int pos;

  private Json(String s) {
    this.s = s;
  }

  /** Parses one JSON document; trailing non-whitespace is an error. */
  public static Object parse(String text) {
    Json p = new Json(text);
    p.skipWs();
    Object v = p.value();
    p.skipWs();
    if (p.pos != p.s.length()) {
      throw p.error("unexpected trailing characters");
    }
    return v;
  }

  /** Parses a document whose top level must be an object. */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> parseObject(String text) {
    Object v = parse(text);
    if (!(v instanceof Map)) {
      throw new IllegalArgumentException("JSON: expected an object at the top level");
    }
    return (Map<String, Object>) v;
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("JSON: " + what + " at offset " + pos);
  }

  private void skipWs() {
    while (pos < s.length()) {
      char c = s.charAt(pos);
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        pos++;
      } else {
        break;
      }
    }
  }

  private Object value() {
    if (pos >= s.length()) {
      throw error("unexpected end of input");
    }
    char c = s.charAt(pos);
    switch (c) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal("true", Boolean.TRUE);
      case 'f':
        return literal("false", Boolean.FALSE);
      case 'n':
        return literal("null", null);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return number();
        }
        throw error("unexpected character '" + c + "'");
    }
  }

  private Object literal(String word, Object v) {
    if (!s.startsWith(word, pos)) {
      throw error("invalid literal");
    }
    pos += word.length();
    return v;
  }

  private Map<String, Object> object() {
    Map<String, Object> m = new LinkedHashMap<>();
    pos++; // {
    skipWs();
    if (peek() == '}') {
      pos++;
      return m;
    }
    while (true) {
      skipWs();
      if (peek() != '"') {
        throw error("expected a string key");
      }
      String k = string();
      skipWs();
      expect(':');
      skipWs();
      m.put(k, value());
      skipWs();
      char c = next();
      if (c == '}') {
        return m;
      }
      if (c != ',') {
        pos--;
        throw error("expected ',' or '}'");
      }
    }
  }

  private List<Object> array() {
    List<Object> a = new ArrayList<>();
    pos++; // [
    skipWs();
    if (peek() == ']') {
      pos++;
      return a;
    }
    while (true) {
      skipWs();
      a.add(value());
      skipWs();
      char c = next();
      if (c == ']') {
        return a;
      }
      if (c != ',') {
        pos--;
        throw error("expected ',' or ']'");
      }
    }
  }

  private char peek() {
    if (pos >= s.length()) {
      throw error("unexpected end of input");
    }
    return s.charAt(pos);
  }

  private char next() {
    char c = peek();
    pos++;
    return c;
  }

  private void expect(char c) {
    if (next() != c) {
      pos--;
      throw error("expected '" + c + "'");
    }
  }

  private String string() {
    pos++; // opening quote
    StringBuilder b = new StringBuilder();
    while (true) {
      char c = next();
      if (c == '"') {
        return b.toString();
      }
      if (c < 0x20) {
        pos--;
        throw error("unescaped control character in string");
      }
      if (c != '\\') {
        b.append(c);
        continue;
      }
      char e = next();
      switch (e) {
        case '"': b.append('"'); break;
        case '\\': b.append('\\'); break;
        case '/': b.append('/'); break;
        case 'b': b.append('\b'); break;
        case 'f': b.append('\f'); break;
        case 'n': b.append('\n'); break;
        case 'r': b.append('\r'); break;
        case 't': b.append('\t'); break;
        case 'u':
          if (pos + 4 > s.length()) {
            throw error("truncated \\u escape");
          }
          try {
            b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
          } catch (NumberFormatException ex) {
            throw error("invalid \\u escape");
          }
          pos += 4;
          break;
        default:
          pos--;
          throw error("invalid escape '\\" + e + "'");
      }
    }
  }

  private Object number() {
    int start = pos;
    boolean integral = true;
    if (peek() == '-') {
      pos++;
    }
    while (pos < s.length()) {
      char c = s.charAt(pos);
      if (c >= '0' && c <= '9') {
        pos++;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        integral = false;
        pos++;
      } else {
        break;
      }
    }
    String t = s.substring(start, pos);
    try {
      if (integral) {
        try {
          return Long.parseLong(t);
        } catch (NumberFormatException overflow) {
          return Double.parseDouble(t);
        }
      }
      return Double.parseDouble(t);
    } catch (NumberFormatException ex) {
      pos = start;
      throw error("invalid number '" + t + "'");
    }
  }

  // ---------------------------------------------------------------- writer

  /** Serializes maps, lists, strings, numbers, booleans and null (pretty-printed with two-space indents). */
  public static String write(Object value) {
    StringBuilder b = new StringBuilder();
    write(b, value, 0);
    return b.toString();
  }

  private static void indent(StringBuilder b, int level) {
    b.append('\n');
    for (int i = 0; i < level; i++) {
      b.append("  ");
    }
  }

  private static void write(StringBuilder b, Object v, int level) {
    if (v == null) {
      b.append("null");
    } else if (v instanceof String) {
      quote(b, (String) v);
    } else if (v instanceof Boolean) {
      b.append(v.toString());
    } else if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        throw new IllegalArgumentException("JSON cannot hold " + d);
      }
      b.append(d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) + ".0" : Double.toString(d));
    } else if (v instanceof Number) {
      b.append(((Number) v).longValue());
    } else if (v instanceof Map) {
      Map<?, ?> m = (Map<?, ?>) v;
      if (m.isEmpty()) {
        b.append("{}");
        return;
      }
      b.append('{');
      Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<?, ?> e = it.next();
        indent(b, level + 1);
        quote(b, String.valueOf(e.getKey()));
        b.append(": ");
        write(b, e.getValue(), level + 1);
        if (it.hasNext()) {
          b.append(',');
        }
      }
      indent(b, level);
      b.append('}');
    } else if (v instanceof List) {
      List<?> a = (List<?>) v;
      if (a.isEmpty()) {
        b.append("[]");
        return;
      }
      boolean scalars = a.stream().noneMatch(x -> x instanceof Map || x instanceof List);
      b.append('[');
      for (int i = 0; i < a.size(); i++) {
        if (scalars) {
          if (i > 0) {
            b.append(", ");
          }
        } else {
          indent(b, level + 1);
        }
        write(b, a.get(i), level + 1);
        if (!scalars && i < a.size() - 1) {
          b.append(',');
        }
      }
      if (!scalars) {
        indent(b, level);
      }
      b.append(']');
    } else if (v instanceof double[]) {
      List<Object> a = new ArrayList<>();
      for (double d : (double[]) v) {
        a.add(d);
      }
      write(b, a, level);
    } else if (v instanceof int[]) {
      List<Object> a = new ArrayList<>();
      for (int d : (int[]) v) {
        a.add((long) d);
      }
      write(b, a, level);
    } else {
      throw new IllegalArgumentException("JSON cannot write " + v.getClass().getName());
    }
  }

  private static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
      }
    }
    b.append('"');
  }

  // ---------------------------------------------------------------- typed access

  /** Typed getters that fail with the key's name, so a malformed manifest names what is wrong. */
  public static final class Obj {
    private final Map<String, Object> m;
    private final String where;

    public Obj(Map<String, Object> m, String where) {
      this.m = m;
      this.where = where;
    }

    public Map<String, Object> raw() {
      return m;
    }

    public boolean has(String key) {
      return m.containsKey(key) && m.get(key) != null;
    }

    private Object req(String key) {
      if (!m.containsKey(key)) {
        throw new IllegalArgumentException(where + ": missing key '" + key + "'");
      }
      return m.get(key);
    }

    private IllegalArgumentException wrong(String key, String type) {
      return new IllegalArgumentException(where + ": '" + key + "' must be " + type);
    }

    public String str(String key) {
      Object v = req(key);
      if (!(v instanceof String)) {
        throw wrong(key, "a string");
      }
      return (String) v;
    }

    public String optStr(String key, String dflt) {
      Object v = m.get(key);
      return v instanceof String ? (String) v : dflt;
    }

    public long lng(String key) {
      Object v = req(key);
      if (!(v instanceof Long)) {
        throw wrong(key, "an integer");
      }
      return (Long) v;
    }

    public int integer(String key) {
      return Math.toIntExact(lng(key));
    }

    public int optInt(String key, int dflt) {
      return has(key) ? integer(key) : dflt;
    }

    public double dbl(String key) {
      Object v = req(key);
      if (!(v instanceof Number)) {
        throw wrong(key, "a number");
      }
      return ((Number) v).doubleValue();
    }

    public boolean bool(String key) {
      Object v = req(key);
      if (!(v instanceof Boolean)) {
        throw wrong(key, "true or false");
      }
      return (Boolean) v;
    }

    public boolean optBool(String key, boolean dflt) {
      return has(key) ? bool(key) : dflt;
    }

    /** A boolean that may be null (e.g. strip_accents: null = follow lowercase). */
    public Boolean nullableBool(String key) {
      return has(key) ? bool(key) : null;
    }

    @SuppressWarnings("unchecked")
    public Obj obj(String key) {
      Object v = req(key);
      if (!(v instanceof Map)) {
        throw wrong(key, "an object");
      }
      return new Obj((Map<String, Object>) v, where + "." + key);
    }

    @SuppressWarnings("unchecked")
    public List<Object> list(String key) {
      Object v = req(key);
      if (!(v instanceof List)) {
        throw wrong(key, "a list");
      }
      return (List<Object>) v;
    }

    @SuppressWarnings("unchecked")
    public List<Obj> objList(String key) {
      List<Obj> out = new ArrayList<>();
      List<Object> a = list(key);
      for (int i = 0; i < a.size(); i++) {
        if (!(a.get(i) instanceof Map)) {
          throw wrong(key + "[" + i + "]", "an object");
        }
        out.add(new Obj((Map<String, Object>) a.get(i), where + "." + key + "[" + i + "]"));
      }
      return out;
    }

    public int[] ints(String key) {
      return toInts(list(key), where + "." + key);
    }

    public List<String> strings(String key) {
      List<String> out = new ArrayList<>();
      for (Object o : list(key)) {
        if (!(o instanceof String)) {
          throw wrong(key, "a list of strings");
        }
        out.add((String) o);
      }
      return out;
    }
  }

  /** A JSON list of integers as an int array. */
  public static int[] toInts(List<Object> a, String where) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      Object o = a.get(i);
      if (!(o instanceof Long)) {
        throw new IllegalArgumentException(where + "[" + i + "] must be an integer");
      }
      out[i] = Math.toIntExact((Long) o);
    }
    return out;
  }

  /** A JSON list of numbers as a double array. */
  public static double[] toDoubles(List<Object> a, String where) {
    double[] out = new double[a.size()];
    for (int i = 0; i < out.length; i++) {
      Object o = a.get(i);
      if (!(o instanceof Number)) {
        throw new IllegalArgumentException(where + "[" + i + "] must be a number");
      }
      out[i] = ((Number) o).doubleValue();
    }
    return out;
  }
}
