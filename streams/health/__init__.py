"""Health monitor: component health reports in, one ComponentUnhealthy error per incident out.

The Go design's "Triggered Recovery from Health Monitoring". Reading map:
- ``incidents.py``: the rule: which report opens an incident (and so an error), which ends it;
  the error an incident becomes.
- ``agent.py``: the agent on the health topic, sending each new incident's error to the errors
  topic, where it is triaged like any other error.
"""
