"""Ingest: raw records from ``tmc.errors`` become decoded errors for triage, or dead letters.

Reading map:
- ``admission.py``: decode and validate one record; a TMCError or a typed reason (``Rejected``),
  and the headers a dead letter carries (original headers, reason, detail, source).
- ``agent.py``: the agents on ``tmc.errors`` and on the re-key topic: dead-letter, re-key an
  error that sits on another partition than its cluster's, hand the rest to triage.
"""
