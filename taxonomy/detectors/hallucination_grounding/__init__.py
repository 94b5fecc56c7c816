"""Detectors of the hallucination_grounding bucket: one module per subcategory."""
