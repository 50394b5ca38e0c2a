package dev.pocketbert.demo

import android.content.res.AssetManager
import android.os.SystemClock
import android.util.Log
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Model
import com.google.ai.edge.litert.TensorBuffer
import dev.pocketbert.qa.QaModel

/** What the user asks for; [LiteRtQaModel.delegate] says what actually ran. */
enum class Backend(val label: String) {
    CPU("CPU (XNNPACK)"),
    GPU("GPU (+ CPU for ops the GPU lacks)");

    companion object {
        /** Parses the `delegate` intent extra: cpu / xnnpack / gpu. */
        fun parse(s: String?): Backend = when (s?.lowercase()) {
            null, "", "cpu", "xnnpack" -> CPU
            "gpu" -> GPU
            else -> throw IllegalArgumentException(
                "delegate '$s' is not supported in the app (cpu|xnnpack|gpu); measure NNAPI with `pocketbert bench android --delegate nnapi`"
            )
        }
    }
}

/**
 * A QA artifact on LiteRT's CompiledModel API (LiteRT 2.x): one `seq_<S>` signature per sequence length,
 * inputs written as int32, `start_logits` / `end_logits` read back.
 *
 * CompiledModel is the API LiteRT 2.x accelerates (GPU/NPU); the classic `org.tensorflow.lite.Interpreter` is
 * kept in 2.x for compatibility and runs on CPU only. GPU is requested as `Options(GPU, CPU)`: LiteRT refuses
 * to compile a model for GPU alone when any op is not GPU-accelerated, which BERT nearly always has, so the
 * ops the GPU cannot run go to CPU and [delegate] says "gpu+cpu". When even that cannot be created (no GPU
 * driver), we create a CPU model ourselves and say why in [fallbackReason].
 *
 * The model is read once (`Model.load`: LiteRT copies the asset into native memory, it is not mmapped) and
 * compiled once; every signature is served by that one compiled model. [readMs] and [compileMs] say where
 * [initMs] went.
 */
class LiteRtQaModel private constructor(
    private val source: Model,
    private val model: CompiledModel,
    private val seqLens: List<Int>,
    private val inputNames: List<String>,
    /** "xnnpack" (LiteRT's CPU path) or "gpu+cpu": the value written to the benchmark JSON. */
    val delegate: String,
    val threads: Int,
    /** Why a GPU request ended on CPU only, or null. */
    val fallbackReason: String?,
    /** Milliseconds to copy the model out of the APK into memory. */
    val readMs: Double,
    /** Milliseconds to compile it for the chosen accelerators. */
    val compileMs: Double,
) : QaModel, AutoCloseable {

    /** Model initialisation as the benchmark JSON reports it: reading the asset plus compiling. */
    val initMs: Double get() = readMs + compileMs

    private class Buffers(val inputs: Map<String, TensorBuffer>, val start: TensorBuffer, val end: TensorBuffer)

    private val buffers = HashMap<Int, Buffers>()

    override fun seqLens(): List<Int> = seqLens

    private fun buffersFor(seqLen: Int): Buffers = buffers.getOrPut(seqLen) {
        val sig = signatureName(seqLen)
        Buffers(
            inputNames.associateWith { model.createInputBuffer(it, sig) },
            model.createOutputBuffer(START_LOGITS, sig),
            model.createOutputBuffer(END_LOGITS, sig),
        )
    }

    override fun run(seqLen: Int, inputIds: IntArray, attentionMask: IntArray, tokenTypeIds: IntArray): QaModel.Logits {
        require(seqLen in seqLens) { "no signature ${signatureName(seqLen)}; the artifact has $seqLens" }
        val b = buffersFor(seqLen)
        for ((name, buf) in b.inputs) {
            when (name) {
                "input_ids" -> buf.writeInt(inputIds)
                "attention_mask" -> buf.writeInt(attentionMask)
                "token_type_ids" -> buf.writeInt(tokenTypeIds)
                else -> throw IllegalStateException("unknown model input '$name'")
            }
        }
        model.run(b.inputs, mapOf(START_LOGITS to b.start, END_LOGITS to b.end), signatureName(seqLen))
        return QaModel.Logits(b.start.readFloat(), b.end.readFloat())
    }

    override fun close() {
        buffers.values.forEach { b ->
            b.inputs.values.forEach { it.close() }
            b.start.close()
            b.end.close()
        }
        buffers.clear()
        model.close()
        source.close() // created from a Model we own: CompiledModel leaves it to us
    }

    companion object {
        private const val TAG = "pocketbert"
        const val START_LOGITS = "start_logits"
        const val END_LOGITS = "end_logits"
        /** The benchmark JSON's `delegate` for each path (CONTRACTS.md §7). */
        const val DELEGATE_CPU = "xnnpack"
        const val DELEGATE_GPU = "gpu+cpu"

        fun signatureName(seqLen: Int) = "seq_$seqLen"

        fun open(assets: AssetManager, artifact: Artifact, backend: Backend, threads: Int): LiteRtQaModel {
            var t0 = SystemClock.elapsedRealtimeNanos()
            val source = Model.load(assets, artifact.modelAsset)
            val readMs = (SystemClock.elapsedRealtimeNanos() - t0) / 1e6
            t0 = SystemClock.elapsedRealtimeNanos()
            var fallback: String? = null
            var delegate = DELEGATE_CPU
            val compiled = try {
                when (backend) {
                    Backend.CPU -> createCpu(source, threads)
                    Backend.GPU -> try {
                        // CPU too, for the ops the GPU cannot run; GPU alone fails on nearly every BERT.
                        val options = CompiledModel.Options(Accelerator.GPU, Accelerator.CPU)
                        options.cpuOptions = CompiledModel.CpuOptions(numThreads = threads)
                        CompiledModel.create(source, options).also { delegate = DELEGATE_GPU }
                    } catch (e: Exception) {
                        fallback = "GPU unavailable (${e.message}); running on CPU"
                        Log.w(TAG, fallback, e)
                        createCpu(source, threads)
                    }
                }
            } catch (e: Exception) {
                source.close()
                throw e
            }
            val compileMs = (SystemClock.elapsedRealtimeNanos() - t0) / 1e6
            val m = artifact.manifest
            return LiteRtQaModel(source, compiled, m.seqLens(), m.inputNames(), delegate, threads, fallback, readMs, compileMs)
        }

        private fun createCpu(source: Model, threads: Int): CompiledModel {
            val options = CompiledModel.Options(Accelerator.CPU)
            options.cpuOptions = CompiledModel.CpuOptions(numThreads = threads)
            return CompiledModel.create(source, options)
        }
    }
}
