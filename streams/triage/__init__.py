"""Triage: from an admitted error to one decision (drop, merge, start or escalate).

Reading map:
- ``decide.py``: the pure decision over the dedup state, so every error is accounted for.
- ``dedup.py``: the dedup state of each partition, in memory, rebuilt from the two dedup
  tables after a rebalance and written back once per batch; expiry by time, not by scan;
  and how a crash that keeps one table's writes and loses the other's is repaired.
- ``rows.py``: the dedup tables' binary formats (a seen row per batch, a claim per target).
- ``batch.py``: a batch of decided events, the records they produce, and the current-event
  context under which a partition's rows are written.
- ``ids.py``: where a record was read (``Source``) and deterministic recovery ids.
- ``records.py``: the records triage publishes: a Pending recovery, an escalation.
- ``breaker.py``, ``flapping.py``: the pure rules of the circuit breaker per (strategy,
  cluster) and of flap damping per (strategy, target).
- ``guards.py``: the safety gates a new recovery meets, their changelogged table (triage is
  its one writer), and what the endings on the results topic count on them.
- ``agent.py``: decides each error, closes batches (write, note merges to status, send, ack),
  re-issues a recovery whose outcome a crash lost, releases claims as recoveries end, and
  the sweep ticks that expire dedup rows of idle partitions.
"""
