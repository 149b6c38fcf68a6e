"""Data: prompt files and templates, the built-in datasets, model loading and the model cache."""
