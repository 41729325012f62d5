"""The Go design's configuration vocabulary, and applying it to running workers.

Reading map: ``vocabulary.py`` (RecoveryManagerConfig and per-error-type StrategyConfig as
the Go design spells them), ``resolve.py`` (both vocabularies onto the one effective
configuration, conflicts refused by field).
"""
