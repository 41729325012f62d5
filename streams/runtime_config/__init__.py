"""The Go design's configuration vocabulary, and applying it to running workers.

Reading map: ``vocabulary.py`` (RecoveryManagerConfig and per-error-type StrategyConfig as
the Go design spells them), ``resolve.py`` (both vocabularies onto the one effective
configuration, conflicts refused by field), ``record.py`` (an applied configuration as a
record on the compacted config topic), ``follower.py`` (every worker reading that topic and
putting in force what validates; streams/pipeline.py's ``_retune`` does the putting),
``show.py`` (the effective configuration, secrets masked), ``gate.py`` (a starting worker acts
on nothing before the latest apply is in force). The CLI is streams/cli/config_cmd.py.
"""
