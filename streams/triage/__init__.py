"""Triage: from a decoded error to one decision (drop, merge, start or escalate)."""
