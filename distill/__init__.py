"""Stage 1: corpus -> binarized data -> student init -> triple-loss distillation -> task fine-tuning."""
