"""Shared by tests/ and bench/ (which never import each other): real workers against a real
broker and the topic I/O to drive and read them (``harness.py``)."""
