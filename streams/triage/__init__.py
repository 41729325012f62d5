"""Triage: from an admitted error to one decision (drop, merge, start or escalate).

Reading map:
- ``decide.py``: the pure decision over the dedup state, so every error is accounted for.
- ``dedup.py``: the dedup state (seen event ids, claims per strategy and target), and how a
  crash that keeps one of an error's two writes is repaired on redelivery.
- ``ids.py``: where a record was read (``Source``) and deterministic recovery ids.
- ``records.py``: the records triage publishes: a Pending recovery, an escalation.
- ``agent.py``: runs the decision inside stream iteration, publishes, re-issues a recovery
  whose outcome a crash lost, and the tick timers that flush merges and expire dedup rows.
"""
