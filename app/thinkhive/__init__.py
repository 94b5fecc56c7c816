"""ThinkHive-compatible explainability API: traces, Explainer v1, Analyzer v2, batches, credits.

camelCase bodies in the {"success": true, "data": ...} envelope; errors are rendered by app/errors.py.
Each module is a thin projection of misstep's engine, runs and traces onto ThinkHive's wire format.
"""
