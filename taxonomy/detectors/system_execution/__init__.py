"""Detectors of the system_execution bucket: one module per subcategory."""
