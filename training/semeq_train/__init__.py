"""semeq_train: training of semeq's semantic EQ space and audio encoder (PyTorch; the `train` extra)."""
