"""Silences (issue 11): an operator's "do not act on this" for whatever its matchers cover
(cluster, logical cluster and those under it, strategy, error type, component), from its start
until its expiry, with who set it and why. Alertmanager's silences, for recoveries.

Reading map: ``state.py`` (every silence by id, which one covers an error, and the listing),
``view.py`` (every worker's copy, read from the compacted silences topic), ``writer.py``
(how the API sets, ends and finally removes one). Triage asks the view before a new recovery
starts (streams/triage/decide.py): a covered error becomes a Suppressed recovery, never a drop.
"""
