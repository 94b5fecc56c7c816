"""Webhooks: signed (Standard Webhooks) callbacks when async jobs finish, with retries and an SSRF guard."""
