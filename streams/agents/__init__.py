"""The Faust agents: ingest and triage, one per strategy's requests, and results."""
