package dev.pocketbert.qa;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import org.junit.Test;

public class ManifestTest {
  /** A manifest as `pocketbert convert android` writes it (valid against pocketbert/core/manifest.py). */
  static final String SAMPLE =
      "{\"schema_version\": 1, \"format\": \"tflite\", \"model_file\": \"model.tflite\","
          + " \"source_model\": \"build/demo/student-qa\", \"source_architecture\": \"DistilBertForQuestionAnswering\","
          + " \"model_type\": \"distilbert\", \"task\": \"qa\", \"precision\": \"int8-dynamic\","
          + " \"quantization\": {\"recipe\": \"dynamic_wi8_afp32\"}, \"seq_lens\": [384, 128],"
          + " \"signatures\": [{\"name\": \"seq_128\", \"seq_len\": 128, \"file\": \"model.tflite\"},"
          + " {\"name\": \"seq_384\", \"seq_len\": 384, \"file\": \"model.tflite\"}],"
          + " \"inputs\": [{\"name\": \"input_ids\", \"dtype\": \"int32\", \"shape\": [1, 384]},"
          + " {\"name\": \"attention_mask\", \"dtype\": \"int32\", \"shape\": [1, 384]}],"
          + " \"outputs\": [{\"name\": \"start_logits\", \"dtype\": \"float32\", \"shape\": [1, 384]},"
          + " {\"name\": \"end_logits\", \"dtype\": \"float32\", \"shape\": [1, 384]}],"
          + " \"tokenizer\": {\"vocab_file\": \"vocab.txt\", \"lowercase\": true, \"strip_accents\": null,"
          + " \"tokenize_chinese_chars\": true, \"max_query_len\": 64, \"doc_stride\": 128, \"max_answer_len\": 30,"
          + " \"special_ids\": {\"cls\": 101, \"sep\": 102, \"pad\": 0, \"unk\": 100, \"mask\": null}},"
          + " \"labels\": null, \"file_size_bytes\": 68000000, \"sha256\": \"" + "ab".repeat(32) + "\","
          + " \"versions\": {\"pocketbert\": \"0.1.0\", \"torch\": null},"
          + " \"parity\": {\"status\": \"passed\", \"runtime\": \"ai-edge-litert 2.3.0\", \"n\": 64, \"outputs\": {},"
          + " \"task_agreement\": 1.0, \"thresholds\": {}, \"note\": \"\"}, \"created_at\": \"2026-11-25T05:00:00Z\"}";

  @Test
  public void readsWhatTheAppNeeds() {
    Manifest m = Manifest.parse(SAMPLE, "manifest.json");
    assertEquals("tflite", m.format());
    assertEquals("model.tflite", m.modelFile());
    assertEquals(List.of(128, 384), m.seqLens()); // sorted
    assertEquals("seq_384", m.signature(384).name());
    assertEquals(List.of("input_ids", "attention_mask"), m.inputNames());
    assertEquals("int8-dynamic", m.precision());
    assertEquals("passed", m.parityStatus());
    assertEquals(68000000L, m.fileSizeBytes());
    Manifest.Tokenizer t = m.tokenizer();
    assertNull(t.stripAccents());
    assertTrue(t.config().stripsAccents());
    assertEquals(Integer.valueOf(101), t.specialId("cls"));
    assertNull(t.specialId("mask"));
    assertEquals(128, m.qaSettings().docStride());
    assertEquals(30, m.qaSettings().maxAnswerLen());
  }

  @Test
  public void readsAManifestFile() throws Exception {
    java.io.File f = java.io.File.createTempFile("manifest", ".json");
    try {
      java.nio.file.Files.write(f.toPath(), SAMPLE.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      Manifest m = Manifest.read(f);
      assertEquals("seq_128", m.signature(128).name());
    } finally {
      f.delete();
    }
  }

  @Test
  public void missingSignatureAndBadKeysAreNamed() {
    Manifest m = Manifest.parse(SAMPLE, "manifest.json");
    try {
      m.signature(256);
      fail();
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage(), e.getMessage().contains("256"));
    }
    try {
      Manifest.parse(SAMPLE.replace("\"doc_stride\": 128", "\"doc_stride\": \"128\""), "a/manifest.json");
      fail();
    } catch (IllegalArgumentException e) {
      assertEquals("a/manifest.json.tokenizer: 'doc_stride' must be an integer", e.getMessage());
    }
    try {
      Manifest.parse(SAMPLE.replace("\"schema_version\": 1", "\"schema_version\": 2"), "m");
      fail();
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage(), e.getMessage().contains("schema_version 2"));
    }
  }
}
