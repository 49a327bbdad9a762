"""Prompts are code: each is a function from a typed context to chat messages, paired
with a pydantic response schema and a version recorded with what it produced."""
