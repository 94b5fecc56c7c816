"""Detectors of the safety_security bucket: one module per subcategory."""
