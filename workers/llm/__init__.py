"""LLM judging: providers behind one protocol, judge prompts and decoding, claim-level grounding, caching, cost.

Only this package (and the worker processes that use it) imports the openai and anthropic SDKs.
"""
