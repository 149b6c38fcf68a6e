"""The study: the model organism, the refusal direction search, controls and verdicts."""
