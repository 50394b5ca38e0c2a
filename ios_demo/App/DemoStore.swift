#if canImport(SwiftUI) && canImport(CoreML)
import Foundation
import QACore
import SwiftUI

/// App state: the artifacts found, the chosen model and compute units, the last answer, benchmark progress.
@MainActor
final class DemoStore: ObservableObject {
    @Published private(set) var artifacts: [Artifact] = []
    @Published private(set) var problems: [String] = []
    @Published var selectedArtifactID: String?
    @Published var computeUnits: ComputeUnitsName = .all
    @Published var question = "Where did Tesla work when he arrived in the United States?"
    @Published var passage = BenchmarkRunner.passage
    @Published private(set) var result: QAResult?
    @Published private(set) var answeredPassage = ""
    @Published private(set) var error: String?
    @Published private(set) var busy = false
    @Published private(set) var modelLoadMs: Double?
    @Published private(set) var benchmarkLog: [String] = []
    @Published private(set) var benchmarkFile: URL?

    private var loaded: (key: String, model: CoreMLQAModel)?

    init() {
        reload()
    }

    /// Rescans App/Models and Documents/Models (at launch and whenever the app comes to the foreground, so
    /// artifacts copied in with the Files app or Finder appear without a restart).
    func reload() {
        let found = ArtifactCatalog.load()
        artifacts = found.artifacts
        problems = found.problems
        if selectedArtifactID == nil || !artifacts.contains(where: { $0.id == selectedArtifactID }) {
            selectedArtifactID = artifacts.first?.id
        }
    }

    var selectedArtifact: Artifact? { artifacts.first { $0.id == selectedArtifactID } }

    /// Loads (or reuses) the model, then answers off the main actor.
    func answer() async {
        guard let artifact = selectedArtifact else {
            error = "No model: copy an artifact dir from `make convert-ios` into App/Models/ (see README)."
            return
        }
        busy = true
        error = nil
        defer { busy = false }
        do {
            let model = try await loadedModel(for: artifact)
            let pipeline = artifact.pipeline(model: model)
            let (question, passage) = (self.question, self.passage)
            let outcome = try await Task.detached(priority: .userInitiated) {
                try pipeline.answer(question: question, context: passage)
            }.value
            result = outcome
            answeredPassage = passage
        } catch {
            result = nil
            self.error = String(describing: error)
        }
    }

    private func loadedModel(for artifact: Artifact) async throws -> CoreMLQAModel {
        let key = "\(artifact.id)|\(computeUnits.rawValue)"
        if let loaded, loaded.key == key { return loaded.model }
        let model = try await CoreMLQAModel.load(artifactDir: artifact.directory, manifest: artifact.manifest,
                                                 computeUnits: computeUnits)
        loaded = (key, model)
        modelLoadMs = model.loadMs
        return model
    }

    /// Runs `runs` timed predictions per artifact x compute units x sequence length and writes the JSON.
    func benchmark(runs: Int, units: [ComputeUnitsName]) async {
        guard !artifacts.isEmpty else {
            benchmarkLog = ["No artifacts to benchmark: copy one into App/Models/ (see README)."]
            return
        }
        busy = true
        defer { busy = false }
        loaded = nil  // free the interactive model before measuring memory
        benchmarkLog = ["Benchmarking \(artifacts.count) model(s) x \(units.map(\.rawValue).joined(separator: ", ")), \(runs) runs each"]
        benchmarkFile = nil
        let runner = BenchmarkRunner(runs: runs, computeUnits: units)
        let artifacts = self.artifacts
        let name = DeviceInfo.label  // the user's label (Benchmark tab), else the model identifier
        let (results, failures) = await runner.run(artifacts: artifacts, deviceName: name) { line in
            print("[benchmark] \(line)")
            Task { @MainActor in self.benchmarkLog.append(line) }
        }
        do {
            let url = try BenchmarkRunner.write(results)
            benchmarkFile = url
            benchmarkLog.append("Wrote \(url.lastPathComponent) (\(results.runs.count) runs, \(failures.count) failures)")
            print("[benchmark] wrote \(url.path)")
        } catch {
            benchmarkLog.append("Could not write the results: \(error)")
        }
    }
}
#endif
