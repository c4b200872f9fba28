"""The parts of `bench/face_pipeline.py`, one job each: what is measured, how, and how it is reported."""
