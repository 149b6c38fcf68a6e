"""Runs: run directories and resumes, backends (local, Ray), and the resumable runs built on them."""
