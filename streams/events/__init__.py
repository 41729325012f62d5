"""Events: every recovery's start and ending as a Kubernetes Event on the events topic.

Reading map:
- ``shape.py``: which results record is which Event (reason, type, the Go design's message,
  the involved object), or none;
- ``correlator.py``: client-go's EventCorrelator (aggregator and logger): repeats raise one
  Event's count, and many similar events in 10 minutes become one combined Event;
- ``agent.py``: the agent that reads the results topic and writes the events topic.
"""
