"""The station's face pipeline: capture, motion gate, detection, tracking, matching, visits; and its gallery."""
