"""Stage 3: artifacts -> latency/memory/accuracy records per device -> reports with plots."""
