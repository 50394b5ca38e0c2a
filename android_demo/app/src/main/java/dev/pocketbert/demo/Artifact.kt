package dev.pocketbert.demo

import android.content.res.AssetManager
import dev.pocketbert.qa.BertTokenizer
import dev.pocketbert.qa.Manifest
import dev.pocketbert.qa.Vocab

/**
 * One artifact dir copied from `make convert-android` into `app/src/main/assets/<name>/`:
 * `manifest.json`, the `.tflite` it names and `vocab.txt`.
 */
class Artifact(val name: String, val manifest: Manifest, val tokenizer: BertTokenizer) {
    /** Asset path of the model file, as LiteRT's `CompiledModel.create(assets, path, …)` takes it. */
    val modelAsset: String get() = "$name/${manifest.modelFile()}"

    companion object {
        /** Names of the asset dirs that hold a manifest.json (sorted). */
        fun list(assets: AssetManager): List<String> =
            (assets.list("") ?: emptyArray())
                .filter { dir -> (assets.list(dir) ?: emptyArray()).contains(Manifest.FILE_NAME) }
                .sorted()

        /** Reads and checks one artifact; the message names the file and the fix when something is off. */
        fun load(assets: AssetManager, name: String): Artifact {
            val where = "assets/$name/${Manifest.FILE_NAME}"
            val text = assets.open("$name/${Manifest.FILE_NAME}").use { it.readBytes().toString(Charsets.UTF_8) }
            val manifest = Manifest.parse(text, where)
            require(manifest.format() == "tflite") {
                "$where: format is ${manifest.format()}; copy a `make convert-android` artifact (tflite)"
            }
            require(manifest.task() == "qa") {
                "$where: task is ${manifest.task()}; this demo answers questions (convert with TASK=qa)"
            }
            val files = assets.list(name) ?: emptyArray()
            require(manifest.modelFile() in files) { "assets/$name has no ${manifest.modelFile()}; copy the whole artifact dir" }
            val vocabFile = manifest.tokenizer().vocabFile()
            require(vocabFile in files) { "assets/$name has no $vocabFile; copy the whole artifact dir" }
            val vocab = assets.open("$name/$vocabFile").use { Vocab.load(it) }
            val tokenizer = BertTokenizer(vocab, manifest.tokenizer().config())
            // The ids the model was trained with must be the ones this vocab gives.
            for ((key, token) in listOf("cls" to BertTokenizer.CLS, "sep" to BertTokenizer.SEP)) {
                val expected = manifest.tokenizer().specialId(key) ?: continue
                require(vocab.id(token) == expected) {
                    "$where: $token is id $expected but assets/$name/$vocabFile gives ${vocab.id(token)}; copy the artifact's own vocab"
                }
            }
            return Artifact(name, manifest, tokenizer)
        }
    }
}
