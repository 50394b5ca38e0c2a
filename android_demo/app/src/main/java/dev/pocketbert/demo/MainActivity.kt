package dev.pocketbert.demo

import android.os.Bundle
import android.text.SpannableString
import android.text.Spanned
import android.text.style.BackgroundColorSpan
import android.util.Log
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.Spinner
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.lifecycle.lifecycleScope
import dev.pocketbert.qa.QaException
import dev.pocketbert.qa.QaPipeline
import dev.pocketbert.qa.Utf16
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.util.Locale
import java.util.concurrent.Executors

/**
 * Ask a question about a passage; the answer is highlighted with its latency split. Tokenization, the model
 * and decoding run on one background thread (LiteRT models are not thread-safe), never on the main thread.
 *
 * Benchmark from adb (results JSON in the app's external files dir, path logged with tag "pocketbert"):
 * `adb shell am start -n dev.pocketbert.demo/.MainActivity --ei benchmark_runs 50
 *  [--es model <asset dir>] [--es delegate cpu|gpu] [--ei threads 4] [--ei seq_len 384]`
 */
class MainActivity : ComponentActivity() {
    private val worker = Executors.newSingleThreadExecutor { r -> Thread(r, "pocketbert-qa") }.asCoroutineDispatcher()
    private var loaded: Loaded? = null

    private class Loaded(val artifact: Artifact, val model: LiteRtQaModel, val backend: Backend, val threads: Int) {
        val pipeline = QaPipeline(artifact.tokenizer, model, artifact.manifest.qaSettings())
    }

    private lateinit var modelSpinner: Spinner
    private lateinit var backendSpinner: Spinner
    private lateinit var passage: EditText
    private lateinit var question: EditText
    private lateinit var output: TextView
    private lateinit var status: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        modelSpinner = findViewById(R.id.model)
        backendSpinner = findViewById(R.id.backend)
        passage = findViewById(R.id.passage)
        question = findViewById(R.id.question)
        output = findViewById(R.id.answer)
        status = findViewById(R.id.status)
        passage.setText(Benchmark.SAMPLE_PASSAGE)
        question.setText(Benchmark.SAMPLE_QUESTION)

        val names = Artifact.list(assets)
        if (names.isEmpty()) {
            status.text = getString(R.string.no_artifacts)
        }
        modelSpinner.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, names)
        backendSpinner.adapter =
            ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, Backend.values().map { it.label })
        findViewById<Button>(R.id.ask).setOnClickListener { ask() }
        findViewById<Button>(R.id.benchmark).setOnClickListener { benchmark(DEFAULT_BENCHMARK_RUNS, null, null) }

        // Intent extras start a benchmark once: a recreated activity (rotation, dark mode) gets the same intent
        // back with a saved state, and a second run would overlap the first one still on the worker.
        val runs = if (savedInstanceState == null) intent.getIntExtra(EXTRA_BENCHMARK_RUNS, 0) else 0
        if (runs > 0 && names.isNotEmpty()) {
            intent.getStringExtra(EXTRA_MODEL)?.let { m -> names.indexOf(m).takeIf { it >= 0 }?.let { modelSpinner.setSelection(it) } }
            try {
                backendSpinner.setSelection(Backend.parse(intent.getStringExtra(EXTRA_DELEGATE)).ordinal)
            } catch (e: IllegalArgumentException) {
                status.text = e.message
                Log.e(TAG, e.message ?: "bad delegate")
                return
            }
            val threads = intent.getIntExtra(EXTRA_THREADS, 0).takeIf { it > 0 }
            val seqLen = intent.getIntExtra(EXTRA_SEQ_LEN, 0).takeIf { it > 0 }
            benchmark(runs, threads, seqLen)
        }
    }

    private fun selectedBackend() = Backend.values()[backendSpinner.selectedItemPosition]

    /** The selected artifact's name; read on the main thread, before work moves to [worker]. */
    private fun selectedModel(): String? = modelSpinner.selectedItem as? String

    /** Loads (or reuses) an artifact on a backend; runs on [worker]. */
    private fun load(name: String?, backend: Backend, threads: Int): Loaded {
        if (name == null) throw IllegalStateException(getString(R.string.no_artifacts))
        loaded?.let { if (it.artifact.name == name && it.backend == backend && it.threads == threads) return it }
        loaded?.model?.close()
        loaded = null
        val artifact = Artifact.load(assets, name)
        val model = LiteRtQaModel.open(assets, artifact, backend, threads)
        model.fallbackReason?.let { Log.w(TAG, it) }
        return Loaded(artifact, model, backend, threads).also { loaded = it }
    }

    private fun ask() {
        val q = question.text.toString()
        val p = passage.text.toString()
        val name = selectedModel()
        val backend = selectedBackend()
        status.text = getString(R.string.running)
        lifecycleScope.launch {
            val text = withContext(worker) {
                try {
                    val l = load(name, backend, defaultThreads())
                    val r = l.pipeline.answer(q, p)
                    Result.success(l to r)
                } catch (e: Exception) {
                    Result.failure(e)
                }
            }
            text.onSuccess { (l, r) -> show(p, l, r) }.onFailure { e ->
                output.text = ""
                status.text = if (e is QaException) e.message else "Error: ${e.message}"
                if (e !is QaException) Log.e(TAG, "answer failed", e)
            }
        }
    }

    private fun show(p: String, l: Loaded, r: QaPipeline.Result) {
        val a = r.answer()
        if (a.isEmpty) {
            output.text = getString(R.string.no_answer)
        } else {
            // Offsets are code points (CONTRACTS.md §3); Android strings index UTF-16 units.
            val range = Utf16.range(p, a)
            val span = SpannableString(p)
            span.setSpan(BackgroundColorSpan(0x66FFD54F), range[0], range[1], Spanned.SPAN_EXCLUSIVE_EXCLUSIVE)
            output.text = span
        }
        status.text = String.format(
            Locale.US,
            "Answer: %s (score %.3f)\n%.1f ms = tokenize %.1f + model %.1f (%d × seq_%d) + decode %.1f\n%s, %s%s",
            if (a.isEmpty) "—" else "\"${a.text()}\"", a.score(), r.totalMs(), r.tokenizeMs(), r.modelMs(),
            r.windows(), r.seqLen(), r.decodeMs(), l.artifact.name, l.model.delegate,
            l.model.fallbackReason?.let { "\n$it" } ?: "",
        )
    }

    private fun benchmark(runs: Int, threadsExtra: Int?, seqLenExtra: Int?) {
        val threads = threadsExtra ?: defaultThreads()
        val name = selectedModel()
        val backend = selectedBackend()
        status.text = getString(R.string.running)
        lifecycleScope.launch {
            val result = withContext(worker) {
                try {
                    loaded?.model?.close()
                    loaded = null
                    if (name == null) throw IllegalStateException(getString(R.string.no_artifacts))
                    val artifact = Artifact.load(assets, name)
                    val lens = seqLenExtra?.let { listOf(it) } ?: artifact.manifest.seqLens()
                    lens.forEach { artifact.manifest.signature(it) } // fail early on an unknown seq_len
                    Result.success(
                        Benchmark(this@MainActivity).run(artifact, backend, threads, runs, lens) { msg ->
                            runOnUiThread { status.text = msg }
                        }
                    )
                } catch (e: Exception) {
                    Result.failure(e)
                }
            }
            result.onSuccess { (res, file) ->
                Log.i(TAG, "POCKETBERT_RESULTS ${file.absolutePath}")
                status.text = res.runs().joinToString("\n", postfix = "\nWrote ${file.absolutePath}") { run ->
                    val sorted = run.latenciesMs().sorted()
                    String.format(
                        Locale.US, "seq_%d %s: p50 %.1f ms, min %.1f ms, init %.0f ms (%d runs)",
                        run.seqLen(), run.delegate(), sorted[sorted.size / 2], sorted[0], run.initMs(), sorted.size,
                    )
                }
            }.onFailure { e ->
                Log.e(TAG, "benchmark failed", e)
                status.text = "Benchmark failed: ${e.message}"
            }
        }
    }

    override fun onDestroy() {
        super.onDestroy()
        val l = loaded
        loaded = null
        // Close on the worker so an in-flight run finishes first.
        worker.executor.execute { l?.model?.close() }
        worker.close()
    }

    private fun defaultThreads() = Runtime.getRuntime().availableProcessors().coerceIn(1, MAX_DEFAULT_THREADS)

    companion object {
        private const val TAG = "pocketbert"
        const val EXTRA_BENCHMARK_RUNS = "benchmark_runs"
        const val EXTRA_MODEL = "model"
        const val EXTRA_DELEGATE = "delegate"
        const val EXTRA_THREADS = "threads"
        const val EXTRA_SEQ_LEN = "seq_len"
        private const val DEFAULT_BENCHMARK_RUNS = 50
        /** Big cores on most phones; more threads than big cores usually slows XNNPACK down. */
        private const val MAX_DEFAULT_THREADS = 4
    }
}
