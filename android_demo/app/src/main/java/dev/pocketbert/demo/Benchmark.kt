package dev.pocketbert.demo

import android.app.ActivityManager
import android.content.Context
import android.os.Build
import android.os.SystemClock
import dev.pocketbert.qa.AppResults
import dev.pocketbert.qa.QaFeatures
import java.io.File
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
import java.util.TimeZone

/**
 * Times the model call alone (what `benchmark_model` times too) for every sequence length of an artifact, and
 * writes the app benchmark JSON (CONTRACTS.md §7) that `pocketbert bench import` reads. The model is read and
 * compiled once for all lengths (`init_ms` = that read + compile, the same in each length's record).
 */
class Benchmark(private val context: Context) {
    /** Untimed runs before measuring, so caches and XNNPACK's weight packing are settled. */
    private val warmupRuns = 3

    fun run(
        artifact: Artifact,
        backend: Backend,
        threads: Int,
        runs: Int,
        seqLens: List<Int>,
        progress: (String) -> Unit,
    ): Pair<AppResults, File> {
        require(runs > 0) { "benchmark_runs must be > 0" }
        val results = AppResults(deviceInfo())
        progress("${artifact.name}: loading…")
        // One read + compile serves every signature; each record's init_ms is that one load (read + compile).
        LiteRtQaModel.open(context.assets, artifact, backend, threads).use { model ->
            progress(
                String.format(
                    Locale.US, "%s: read %.0f ms + compile %.0f ms (%s)", artifact.name, model.readMs,
                    model.compileMs, model.delegate,
                )
            )
            for (seqLen in seqLens) {
                val window = sampleWindow(artifact, seqLen)
                val t0 = SystemClock.elapsedRealtimeNanos()
                model.run(seqLen, window.inputIds(), window.attentionMask(), window.tokenTypeIds())
                val firstMs = (SystemClock.elapsedRealtimeNanos() - t0) / 1e6
                repeat(warmupRuns) { model.run(seqLen, window.inputIds(), window.attentionMask(), window.tokenTypeIds()) }
                val lat = DoubleArray(runs)
                for (i in 0 until runs) {
                    val s = SystemClock.elapsedRealtimeNanos()
                    model.run(seqLen, window.inputIds(), window.attentionMask(), window.tokenTypeIds())
                    lat[i] = (SystemClock.elapsedRealtimeNanos() - s) / 1e6
                    if (i % 10 == 9) progress("${artifact.name} seq $seqLen: ${i + 1}/$runs runs")
                }
                val m = artifact.manifest
                results.add(
                    AppResults.Run(
                        artifact.name, m.sha256(), m.task(), m.precision(), seqLen, "litert",
                        BuildConfig.LITERT_VERSION, model.delegate, threads, model.initMs, firstMs, lat,
                        peakRssBytes(), m.fileSizeBytes(),
                    )
                )
            }
        }
        val file = write(results)
        return results to file
    }

    /** A real window (sample question + passage) padded to [seqLen], so the timed input looks like an app's. */
    private fun sampleWindow(artifact: Artifact, seqLen: Int) = QaFeatures.build(
        artifact.tokenizer, SAMPLE_QUESTION, SAMPLE_PASSAGE, seqLen, 0, minOf(artifact.manifest.tokenizer().maxQueryLen(), seqLen / 4),
    ).windows()[0]

    private fun write(results: AppResults): File {
        val dir = context.getExternalFilesDir(null) ?: context.filesDir
        val stamp = SimpleDateFormat("yyyyMMdd'T'HHmmss'Z'", Locale.US).apply { timeZone = TimeZone.getTimeZone("UTC") }
            .format(Date())
        val file = File(dir, "pocketbert_app_results_$stamp.json")
        val tmp = File(dir, file.name + ".tmp")
        tmp.writeText(results.toJson())
        check(tmp.renameTo(file)) { "could not write $file" }
        return file
    }

    private fun deviceInfo(): AppResults.Device {
        val mem = ActivityManager.MemoryInfo()
        (context.getSystemService(Context.ACTIVITY_SERVICE) as ActivityManager).getMemoryInfo(mem)
        val soc = if (Build.VERSION.SDK_INT >= 31) "${Build.SOC_MANUFACTURER} ${Build.SOC_MODEL}" else Build.HARDWARE
        return AppResults.Device(
            Build.MODEL, "${Build.MANUFACTURER} ${Build.MODEL}", "Android ${Build.VERSION.RELEASE} (API ${Build.VERSION.SDK_INT})",
            soc, Runtime.getRuntime().availableProcessors(), mem.totalMem,
        )
    }

    companion object {
        const val SAMPLE_QUESTION = "Who licensed the induction motor patents?"
        const val SAMPLE_PASSAGE =
            "Tesla was born in 1856 in Smiljan, in the Austrian Empire. In 1884 he emigrated to the United States, " +
                "where he worked for a short time at the Edison Machine Works in New York City. His alternating " +
                "current induction motor and related patents were licensed by George Westinghouse, earning Tesla " +
                "a considerable amount of money."

        /** Peak resident memory of this process (VmHWM), or 0 when /proc does not say. */
        fun peakRssBytes(): Long = try {
            File("/proc/self/status").readLines().firstOrNull { it.startsWith("VmHWM:") }
                ?.split(Regex("\\s+"))?.get(1)?.toLong()?.times(1024) ?: 0L
        } catch (e: Exception) {
            0L
        }
    }
}
