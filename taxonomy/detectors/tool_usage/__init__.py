"""Detectors of the tool_usage bucket: one module per subcategory."""
