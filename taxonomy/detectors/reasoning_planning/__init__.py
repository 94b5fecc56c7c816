"""Detectors of the reasoning_planning bucket: one module per subcategory."""
