package dev.pocketbert.qa;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The artifact manifest (CONTRACTS.md §5; schema: pocketbert/core/manifest.py) as far as an app needs it:
 * which file and signatures to load, the inputs' names, the tokenizer settings and the parity verdict.
 */
public record Manifest(
    int schemaVersion,
    String format,
    String modelFile,
    String sourceModel,
    String modelType,
    String task,
    String precision,
    List<Integer> seqLens,
    List<Signature> signatures,
    List<TensorSpec> inputs,
    List<TensorSpec> outputs,
    Tokenizer tokenizer,
    long fileSizeBytes,
    String sha256,
    String parityStatus) {

  public static final int SCHEMA_VERSION = 1;
  public static final String FILE_NAME = "manifest.json";

  /** One static-shape entry point, e.g. {@code seq_384} in {@code model.tflite}. */
  public record Signature(String name, int seqLen, String file) {}

  public record TensorSpec(String name, String dtype, int[] shape) {}

  /** The manifest's tokenizer block. */
  public record Tokenizer(
      String vocabFile,
      boolean lowercase,
      Boolean stripAccents,
      boolean tokenizeChineseChars,
      int maxQueryLen,
      int docStride,
      int maxAnswerLen,
      Map<String, Integer> specialIds) {

    public TokenizerConfig config() {
      return new TokenizerConfig(lowercase, stripAccents, tokenizeChineseChars);
    }

    /** The id listed for a special token, trying "cls", "cls_token_id", "cls_id" and "[CLS]"; null if absent. */
    public Integer specialId(String name) {
      for (String k : new String[] {name, name + "_token_id", name + "_id", "[" + name.toUpperCase() + "]"}) {
        Integer id = specialIds.get(k);
        if (id != null) {
          return id;
        }
      }
      return null;
    }
  }

  /** Reads a manifest.json file (java.io: Android has java.nio.file only from API 26). */
  public static Manifest read(File path) throws IOException {
    try (InputStream in = new FileInputStream(path)) {
      return parse(new String(readAll(in), StandardCharsets.UTF_8), path.toString());
    }
  }

  /** InputStream.readAllBytes() needs Android API 33; this loop runs on API 24. */
  static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    int n;
    while ((n = in.read(buf)) > 0) {
      out.write(buf, 0, n);
    }
    return out.toByteArray();
  }

  /**
   * Parses and checks the keys an app relies on.
   *
   * @throws IllegalArgumentException naming the file and the key that is missing or malformed
   */
  public static Manifest parse(String json, String where) {
    Json.Obj m = new Json.Obj(Json.parseObject(json), where);
    int version = m.integer("schema_version");
    if (version != SCHEMA_VERSION) {
      throw new IllegalArgumentException(
          where + ": schema_version " + version + " is not " + SCHEMA_VERSION + "; re-run pocketbert convert with this app's version");
    }
    List<Integer> seqLens = new ArrayList<>();
    for (int s : m.ints("seq_lens")) {
      seqLens.add(s);
    }
    Collections.sort(seqLens);
    List<Signature> sigs = new ArrayList<>();
    for (Json.Obj s : m.objList("signatures")) {
      sigs.add(new Signature(s.str("name"), s.integer("seq_len"), s.str("file")));
    }
    if (sigs.isEmpty()) {
      throw new IllegalArgumentException(where + ": no signatures; re-run pocketbert convert");
    }
    Json.Obj t = m.obj("tokenizer");
    Map<String, Integer> special = new LinkedHashMap<>();
    if (t.has("special_ids")) {
      for (Map.Entry<String, Object> e : t.obj("special_ids").raw().entrySet()) {
        if (e.getValue() instanceof Long) {
          special.put(e.getKey(), Math.toIntExact((Long) e.getValue()));
        }
      }
    }
    Tokenizer tok =
        new Tokenizer(
            t.str("vocab_file"),
            t.bool("lowercase"),
            t.nullableBool("strip_accents"),
            t.bool("tokenize_chinese_chars"),
            t.integer("max_query_len"),
            t.integer("doc_stride"),
            t.integer("max_answer_len"),
            Collections.unmodifiableMap(special));
    String parity = m.has("parity") ? m.obj("parity").optStr("status", "unknown") : "unknown";
    return new Manifest(
        version,
        m.str("format"),
        m.str("model_file"),
        m.optStr("source_model", ""),
        m.optStr("model_type", ""),
        m.str("task"),
        m.str("precision"),
        Collections.unmodifiableList(seqLens),
        Collections.unmodifiableList(sigs),
        tensors(m, "inputs"),
        tensors(m, "outputs"),
        tok,
        m.has("file_size_bytes") ? m.lng("file_size_bytes") : -1,
        m.optStr("sha256", ""),
        parity);
  }

  private static List<TensorSpec> tensors(Json.Obj m, String key) {
    List<TensorSpec> out = new ArrayList<>();
    for (Json.Obj t : m.objList(key)) {
      out.add(new TensorSpec(t.str("name"), t.str("dtype"), t.ints("shape")));
    }
    return Collections.unmodifiableList(out);
  }

  /** The signature for sequence length {@code seqLen}. */
  public Signature signature(int seqLen) {
    for (Signature s : signatures) {
      if (s.seqLen() == seqLen) {
        return s;
      }
    }
    throw new IllegalArgumentException("the manifest has no signature for seq_len " + seqLen + "; it has " + seqLens);
  }

  /** Input names in manifest order (DistilBERT has no token_type_ids). */
  public List<String> inputNames() {
    List<String> names = new ArrayList<>();
    for (TensorSpec t : inputs) {
      names.add(t.name());
    }
    return names;
  }

  /** The QA pipeline settings this artifact was converted with. */
  public QaPipeline.Settings qaSettings() {
    return new QaPipeline.Settings(
        tokenizer.docStride(), tokenizer.maxQueryLen(), tokenizer.maxAnswerLen(), SpanDecoder.DEFAULT_TOP_K);
  }
}
