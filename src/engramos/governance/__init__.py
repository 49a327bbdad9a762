"""Governance of what is kept: PII redaction and the vault (``pii.py``)."""
