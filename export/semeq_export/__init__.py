"""semeq_export: trained checkpoints → the ONNX model bundle that semeq_rt loads (the `train` extra)."""
