package dev.pocketbert.qa;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A WordPiece vocabulary: one token per line of vocab.txt, the id is the line number. */
public final class Vocab {
  private final List<String> tokens;
  private final Map<String, Integer> ids;

  public Vocab(List<String> tokens) {
    this.tokens = Collections.unmodifiableList(new ArrayList<>(tokens));
    this.ids = new HashMap<>(tokens.size() * 2);
    for (int i = 0; i < tokens.size(); i++) {
      // A token listed twice keeps its first id, as pocketbert's golden generator reads the vocab.
      ids.putIfAbsent(tokens.get(i), i);
    }
  }

  /** Reads a vocab.txt file (java.io, not java.nio.file, which Android has only from API 26). */
  public static Vocab load(File path) throws IOException {
    try (InputStream in = new FileInputStream(path)) {
      return load(in);
    }
  }

  /** Reads UTF-8 lines; the trailing newline of the file does not add an empty token. */
  public static Vocab load(InputStream in) throws IOException {
    List<String> lines = new ArrayList<>();
    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    String line;
    while ((line = r.readLine()) != null) {
      lines.add(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
    }
    if (lines.isEmpty()) {
      throw new IOException("vocab is empty; pass the artifact's vocab.txt");
    }
    return new Vocab(lines);
  }

  public int size() {
    return tokens.size();
  }

  /** The id of {@code token}, or -1 when it is not in the vocabulary. */
  public int id(String token) {
    Integer id = ids.get(token);
    return id == null ? -1 : id;
  }

  public boolean contains(String token) {
    return ids.containsKey(token);
  }

  public String token(int id) {
    return tokens.get(id);
  }

  /** The id of a special token that must exist (e.g. [CLS]); fails with a message naming it. */
  public int requireId(String token) {
    int id = id(token);
    if (id < 0) {
      throw new IllegalArgumentException("vocab has no " + token + " token; use the vocab.txt the model was trained with");
    }
    return id;
  }
}
