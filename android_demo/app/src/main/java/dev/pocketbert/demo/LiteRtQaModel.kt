package dev.pocketbert.demo

import android.content.res.AssetManager
import android.os.SystemClock
import android.util.Log
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.TensorBuffer
import dev.pocketbert.qa.QaModel

/** What the user asks for; [LiteRtQaModel.delegate] says what actually ran. */
enum class Backend(val label: String) {
    CPU("CPU (XNNPACK)"),
    GPU("GPU");

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
 * kept in 2.x for compatibility and runs on CPU only. A GPU request that cannot be honoured fails at creation
 * here, and we then create a CPU model ourselves, so [delegate] always names what really runs.
 */
class LiteRtQaModel private constructor(
    private val model: CompiledModel,
    private val seqLens: List<Int>,
    private val inputNames: List<String>,
    /** "xnnpack" (LiteRT's CPU path) or "gpu": the value written to the benchmark JSON. */
    val delegate: String,
    val threads: Int,
    /** Why a GPU request ended on CPU, or null. */
    val fallbackReason: String?,
    /** Milliseconds to load and compile the model. */
    val initMs: Double,
) : QaModel, AutoCloseable {

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
    }

    companion object {
        private const val TAG = "pocketbert"
        const val START_LOGITS = "start_logits"
        const val END_LOGITS = "end_logits"

        fun signatureName(seqLen: Int) = "seq_$seqLen"

        fun open(assets: AssetManager, artifact: Artifact, backend: Backend, threads: Int): LiteRtQaModel {
            val t0 = SystemClock.elapsedRealtimeNanos()
            var fallback: String? = null
            var delegate = "xnnpack"
            val compiled = when (backend) {
                Backend.CPU -> createCpu(assets, artifact, threads)
                Backend.GPU -> try {
                    CompiledModel.create(assets, artifact.modelAsset, CompiledModel.Options(Accelerator.GPU)).also {
                        delegate = "gpu"
                    }
                } catch (e: Exception) {
                    fallback = "GPU unavailable (${e.message}); running on CPU"
                    Log.w(TAG, fallback, e)
                    createCpu(assets, artifact, threads)
                }
            }
            val initMs = (SystemClock.elapsedRealtimeNanos() - t0) / 1e6
            val m = artifact.manifest
            return LiteRtQaModel(compiled, m.seqLens(), m.inputNames(), delegate, threads, fallback, initMs)
        }

        private fun createCpu(assets: AssetManager, artifact: Artifact, threads: Int): CompiledModel {
            val options = CompiledModel.Options(Accelerator.CPU)
            options.cpuOptions = CompiledModel.CpuOptions(numThreads = threads)
            return CompiledModel.create(assets, artifact.modelAsset, options)
        }
    }
}
