"""Common core shared by the stages: model resolution, task processing, schemas, atomic outputs."""
