"""Stage 2: model dir -> Core ML / TFLite / ONNX artifact dir (static shapes, quantized) + parity."""
