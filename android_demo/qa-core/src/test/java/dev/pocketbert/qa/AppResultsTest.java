package dev.pocketbert.qa;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.fail;

import java.util.List;
import java.util.Map;
import org.junit.Test;

public class AppResultsTest {
  @Test
  @SuppressWarnings("unchecked")
  public void writesTheContractKeys() {
    AppResults r =
        new AppResults(new AppResults.Device("Pixel 8", "Google Pixel 8", "Android 15 (API 35)", "Tensor G3", 9, 0));
    r.add(
        new AppResults.Run(
            "student-qa-int8-dynamic", "ab".repeat(32), "qa", "int8-dynamic", 384, "litert", "2.3.0", "xnnpack", 4,
            120.5, 80.25, new double[] {12.5, 11.75}, 123456789L, 68000000L));
    Map<String, Object> m = Json.parseObject(r.toJson());
    assertEquals(1L, m.get("pocketbert_app_results"));
    assertEquals("android_demo", m.get("app"));
    Map<String, Object> d = (Map<String, Object>) m.get("device");
    assertEquals(List.of("model", "name", "os", "soc", "cores", "memory_bytes"), List.copyOf(d.keySet()));
    assertEquals(9L, d.get("cores"));
    assertNull(d.get("memory_bytes")); // unknown is null, not 0
    Map<String, Object> run = ((List<Map<String, Object>>) m.get("runs")).get(0);
    assertEquals(
        List.of("model", "artifact_sha256", "task", "precision", "seq_len", "runtime", "runtime_version",
            "compute_units", "delegate", "threads", "init_ms", "first_inference_ms", "latencies_ms",
            "peak_memory_bytes", "model_size_bytes"),
        List.copyOf(run.keySet()));
    assertEquals(384L, run.get("seq_len"));
    assertEquals("xnnpack", run.get("delegate"));
    assertNull(run.get("compute_units"));
    assertEquals(List.of(12.5, 11.75), run.get("latencies_ms"));
    assertEquals(80.25, run.get("first_inference_ms"));
    assertEquals(123456789L, run.get("peak_memory_bytes"));
  }

  @Test
  public void aRunWithoutLatenciesIsRejected() {
    AppResults r = new AppResults(new AppResults.Device("m", "n", "o", "s", 1, 1));
    try {
      r.add(new AppResults.Run("m", "", "qa", "fp32", 128, "litert", "2.3.0", "cpu", 1, 1, 1, new double[0], 0, 1));
      fail();
    } catch (IllegalArgumentException expected) {
      assertEquals(0, r.runs().size());
    }
  }
}
