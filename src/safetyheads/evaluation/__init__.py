"""Evaluation: generation, the judges, attack success, helpfulness and damage on harmless text."""
