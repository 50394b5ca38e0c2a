#if canImport(SwiftUI) && canImport(CoreML)
import QACore
import SwiftUI

/// Paste a passage, ask, see the answer highlighted with its score and where the time went.
struct AnswerScreen: View {
    @EnvironmentObject private var store: DemoStore

    var body: some View {
        NavigationStack {
            Form {
                ModelPicker()
                Section("Passage") {
                    TextEditor(text: $store.passage)
                        .frame(minHeight: 140)
                }
                Section("Question") {
                    TextField("Ask about the passage", text: $store.question, axis: .vertical)
                    Button {
                        Task { await store.answer() }
                    } label: {
                        HStack {
                            Text("Answer")
                            if store.busy { Spacer(); ProgressView() }
                        }
                    }
                    .disabled(store.busy || store.selectedArtifact == nil)
                }
                if let error = store.error {
                    Section("Problem") { Text(error).foregroundStyle(.red) }
                }
                if let result = store.result {
                    ResultSection(result: result, passage: store.answeredPassage, loadMs: store.modelLoadMs)
                }
                if !store.problems.isEmpty {
                    Section("Skipped folders") {
                        ForEach(store.problems, id: \.self) { Text($0).font(.footnote) }
                    }
                }
            }
            .navigationTitle("PocketBERT")
        }
    }
}

struct ModelPicker: View {
    @EnvironmentObject private var store: DemoStore

    var body: some View {
        Section("Model") {
            if store.artifacts.isEmpty {
                Text("No model found. Copy an artifact folder from `make convert-ios` into App/Models/ and rebuild.")
                    .font(.footnote)
            } else {
                Picker("Artifact", selection: $store.selectedArtifactID) {
                    ForEach(store.artifacts) { artifact in
                        Text(artifact.name).tag(Optional(artifact.id))
                    }
                }
                if let m = store.selectedArtifact?.manifest {
                    Text("\(m.sourceArchitecture) · \(m.precision) · seq \(m.seqLens.map(String.init).joined(separator: "/")) · parity \(m.parity.status)")
                        .font(.caption).foregroundStyle(.secondary)
                }
            }
            Picker("Compute units", selection: $store.computeUnits) {
                ForEach(ComputeUnitsName.allCases, id: \.self) { Text($0.label).tag($0) }
            }
        }
    }
}

struct ResultSection: View {
    let result: QAResult
    let passage: String
    let loadMs: Double?

    var body: some View {
        Section("Answer") {
            if result.answer.found {
                Text(result.answer.text).font(.headline)
                Text(highlighted)
                Text(String(format: "score %.3f · window %ld of %ld · seq len %ld", result.answer.score,
                            result.answer.window + 1, result.windowCount, result.sequenceLength))
                    .font(.caption)
            } else {
                Text("No answer span fits the limits (max answer length, top-k).")
            }
        }
        Section("Latency") {
            LabeledContent("Tokenize", value: ms(result.timings.tokenizeMs))
            LabeledContent("Model (\(result.windowCount) window\(result.windowCount == 1 ? "" : "s"))", value: ms(result.timings.modelMs))
            LabeledContent("Decode", value: ms(result.timings.decodeMs))
            LabeledContent("Total", value: ms(result.timings.totalMs))
            if let loadMs { LabeledContent("Model load", value: ms(loadMs)) }
        }
    }

    /// The passage with the answer's code points highlighted.
    private var highlighted: AttributedString {
        let range = passage.range(ofScalars: result.answer.span)
        var text = AttributedString(String(passage[..<range.lowerBound]))
        var answer = AttributedString(String(passage[range]))
        answer.backgroundColor = Color.yellow  // explicit types: SwiftUI's attributes, not UIKit's
        answer.foregroundColor = Color.black
        answer.font = Font.body.bold()
        text += answer
        text += AttributedString(String(passage[range.upperBound...]))
        return text
    }

    private func ms(_ value: Double) -> String { String(format: "%.1f ms", value) }
}
#endif
