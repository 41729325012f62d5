"""Status: the results topic projected into the status and cluster tables, and catch-up.

Reading map:
- ``projection.py``: how one result changes a recovery's row and its cluster's summary;
  idempotent, never backwards, a terminal row is final.
- ``agent.py``: the results agent that applies the projection, counts the metrics and sends
  escalations on; the merges agent that folds triage's merges into rows and expires them.
- ``batch.py``: both agents apply records to one open batch, and closing it writes each row
  and summary once (streams/batching.py).
- ``decoded.py``, ``splice.py``: the hot path's two savings: rows kept decoded by key, and a
  row whose only change is its merges written by splicing its stored bytes.
- ``merges.py``: the status-internal merges topic's records (merge notes, expiry ticks).
- ``expiry.py``: when a terminal row leaves the table, by time bucket, and which late
  records must not bring it back.
- ``catchup.py``: per results partition, how far the projection must get after a rebalance
  before anything acts on the table (``offset_probe.py`` measures it on the broker).
- ``assignment.py``: the catch-up run on each assignment: measure, wait, open the ingest
  gates, resume the owned partitions' active recoveries, mark the worker ready.
- ``reads.py``: the two tables as every other stage reads them, through read-only proxies
  (status is their one writer).
"""
