"""Detectors of the conversation_quality bucket: one module per subcategory."""
