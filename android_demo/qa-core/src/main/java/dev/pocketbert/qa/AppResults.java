package dev.pocketbert.qa;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The app benchmark file (CONTRACTS.md §7) that {@code pocketbert bench import} turns into results JSONL.
 * Built from plain values so the app, the tests and any JVM tool write exactly the same keys.
 */
public final class AppResults {
  public static final int FORMAT_VERSION = 1;
  public static final String APP = "android_demo";

  /** The phone. {@code memoryBytes} &lt;= 0 and {@code cores} &lt;= 0 are written as null. */
  public record Device(String model, String name, String os, String soc, int cores, long memoryBytes) {}

  /**
   * One benchmarked (model, runtime, delegate, threads) configuration.
   *
   * @param delegate the accelerator that actually ran (after any fallback): xnnpack, gpu, nnapi, cpu or null
   * @param latenciesMs one entry per timed run, warm-up excluded
   * @param peakMemoryBytes &lt;= 0 writes null
   */
  public record Run(
      String model,
      String artifactSha256,
      String task,
      String precision,
      int seqLen,
      String runtime,
      String runtimeVersion,
      String delegate,
      int threads,
      double initMs,
      double firstInferenceMs,
      double[] latenciesMs,
      long peakMemoryBytes,
      long modelSizeBytes) {}

  private final Device device;
  private final List<Run> runs = new ArrayList<>();

  public AppResults(Device device) {
    this.device = device;
  }

  public AppResults add(Run run) {
    if (run.latenciesMs().length == 0) {
      throw new IllegalArgumentException("a benchmark run needs at least one latency");
    }
    runs.add(run);
    return this;
  }

  public List<Run> runs() {
    return runs;
  }

  /** The JSON tree in the contract's key order. */
  public Map<String, Object> toMap() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("pocketbert_app_results", (long) FORMAT_VERSION);
    root.put("app", APP);
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("model", device.model());
    d.put("name", device.name());
    d.put("os", device.os());
    d.put("soc", device.soc());
    d.put("cores", device.cores() > 0 ? (Object) (long) device.cores() : null);
    d.put("memory_bytes", device.memoryBytes() > 0 ? (Object) device.memoryBytes() : null);
    root.put("device", d);
    List<Object> rs = new ArrayList<>();
    for (Run r : runs) {
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("model", r.model());
      o.put("artifact_sha256", r.artifactSha256());
      o.put("task", r.task());
      o.put("precision", r.precision());
      o.put("seq_len", (long) r.seqLen());
      o.put("runtime", r.runtime());
      o.put("runtime_version", r.runtimeVersion());
      o.put("compute_units", null); // a Core ML notion; LiteRT reports its delegate
      o.put("delegate", r.delegate());
      o.put("threads", (long) r.threads());
      o.put("init_ms", r.initMs());
      o.put("first_inference_ms", r.firstInferenceMs());
      List<Object> lat = new ArrayList<>();
      for (double x : r.latenciesMs()) {
        lat.add(x);
      }
      o.put("latencies_ms", lat);
      o.put("peak_memory_bytes", r.peakMemoryBytes() > 0 ? (Object) r.peakMemoryBytes() : null);
      o.put("model_size_bytes", r.modelSizeBytes());
      rs.add(o);
    }
    root.put("runs", rs);
    return root;
  }

  public String toJson() {
    return Json.write(toMap()) + "\n";
  }
}
