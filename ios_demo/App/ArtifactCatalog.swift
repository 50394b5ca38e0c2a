import Foundation
import QACore

/// One artifact dir from `make convert-ios`: its manifest and tokenizer.
struct Artifact: Identifiable, Sendable {
    let directory: URL
    let manifest: ArtifactManifest
    let tokenizer: BertTokenizer

    var id: String { directory.path }
    var name: String { directory.lastPathComponent }

    init(directory: URL) throws {
        self.directory = directory
        manifest = try ArtifactManifest.load(from: directory)
        let vocabulary = try Vocabulary(contentsOf: directory.appendingPathComponent(manifest.tokenizer.vocabFile))
        tokenizer = try BertTokenizer(vocabulary: vocabulary, settings: manifest.tokenizerSettings)
    }

    func pipeline(model: any QAModel) -> QAPipeline {
        QAPipeline(tokenizer: tokenizer, model: model, docStride: manifest.tokenizer.docStride,
                   maxQueryLen: manifest.tokenizer.maxQueryLen,
                   decode: DecodeSettings(maxAnswerLen: manifest.tokenizer.maxAnswerLen))
    }
}

/// Finds artifacts in the app bundle's Models/ folder (a folder reference) and in Documents/Models/
/// (copied in with the Files app or Finder), skipping any that are not Core ML QA artifacts.
enum ArtifactCatalog {
    /// Documents/Models, created so that it shows up in the Files app (On My iPhone > PocketBERT) to drop
    /// artifact folders into; nil only if the sandbox has no Documents directory.
    static func documentsModels() -> URL? {
        let fm = FileManager.default
        guard let documents = fm.urls(for: .documentDirectory, in: .userDomainMask).first else { return nil }
        let models = documents.appendingPathComponent("Models", isDirectory: true)
        try? fm.createDirectory(at: models, withIntermediateDirectories: true)
        return models
    }

    static func directories() -> [URL] {
        var roots: [URL] = []
        if let bundled = Bundle.main.url(forResource: "Models", withExtension: nil) { roots.append(bundled) }
        if let models = documentsModels() { roots.append(models) }
        return roots.flatMap { root in
            ((try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? [])
                .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent(ArtifactManifest.fileName).path) }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
    }

    /// Loaded artifacts and one message per folder that could not be used.
    static func load() -> (artifacts: [Artifact], problems: [String]) {
        var artifacts: [Artifact] = []
        var problems: [String] = []
        for dir in directories() {
            do {
                let artifact = try Artifact(directory: dir)
                guard artifact.manifest.format == "coreml", artifact.manifest.task == "qa" else {
                    problems.append("\(dir.lastPathComponent): a \(artifact.manifest.format) \(artifact.manifest.task) "
                                    + "artifact; this app runs Core ML QA (make convert-ios TASK=qa)")
                    continue
                }
                artifacts.append(artifact)
            } catch {
                problems.append("\(dir.lastPathComponent): \(error)")
            }
        }
        return (artifacts, problems)
    }
}
