"""Scores: Ships, Sahara, the safety-specific scores, the screen and run comparisons."""
