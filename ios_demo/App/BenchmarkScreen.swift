#if canImport(SwiftUI) && canImport(CoreML)
import QACore
import SwiftUI

/// Runs the latency benchmark and hands the results JSON over (share sheet; also in Files > PocketBERT).
struct BenchmarkScreen: View {
    @EnvironmentObject private var store: DemoStore
    @State private var runs = 50
    @State private var units: Set<ComputeUnitsName> = Set(ComputeUnitsName.allCases)
    /// Written to the results as `device.name`; the model identifier (`hw.machine`) is recorded as `device.model`.
    @AppStorage(DeviceInfo.labelKey) private var deviceLabel = ""

    var body: some View {
        NavigationStack {
            Form {
                Section("Device") {
                    LabeledContent("Model", value: DeviceInfo.machine)
                    TextField("Label, e.g. Anna's iPhone 14 Pro", text: $deviceLabel)
                }
                Section("Runs") {
                    Stepper("\(runs) timed predictions", value: $runs, in: 5...1000, step: 5)
                }
                Section("Compute units") {
                    ForEach(ComputeUnitsName.allCases, id: \.self) { unit in
                        Toggle(unit.label, isOn: Binding(
                            get: { units.contains(unit) },
                            set: { on in if on { units.insert(unit) } else { units.remove(unit) } }))
                    }
                }
                Section {
                    Button("Run on \(store.artifacts.count) model(s)") {
                        let chosen = ComputeUnitsName.allCases.filter(units.contains)
                        Task { await store.benchmark(runs: runs, units: chosen) }
                    }
                    .disabled(store.busy || units.isEmpty || store.artifacts.isEmpty)
                    if let file = store.benchmarkFile {
                        ShareLink(item: file) { Label("Share \(file.lastPathComponent)", systemImage: "square.and.arrow.up") }
                    }
                }
                Section("Log") {
                    ForEach(Array(store.benchmarkLog.enumerated()), id: \.offset) { Text($0.element).font(.footnote.monospaced()) }
                }
            }
            .navigationTitle("Benchmark")
        }
    }
}
#endif
