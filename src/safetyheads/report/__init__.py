"""The report: reading run directories into tables, figures and one HTML page."""
