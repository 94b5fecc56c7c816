"""Detectors of the instruction_compliance bucket: one module per subcategory."""
