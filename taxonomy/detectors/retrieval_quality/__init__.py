"""Detectors of the retrieval_quality bucket: one module per subcategory."""
