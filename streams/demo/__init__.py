"""``python -m streams.demo``: the service doing its job on a simulated fleet, in one command.

It starts the local broker, a fleet simulator of 20 clusters in 3 logical clusters and one
worker, plays a scripted incident through really emitted errors (one per strategy, plus a
storm, a rollback and a permanent fault), shows the recoveries live and ends with a summary.
It exits 0 only when every incident reached its expected outcome, and leaves nothing running.
"""
