"""Fleet-wide switches an operator flips at runtime: the global pause (kill switch) and shadow
mode per strategy.

Reading map: ``state.py`` (the switches as records, and the pure gate each attempt passes),
``view.py`` (every worker's copy, read from the control topic), ``switch.py`` (how the API
flips one). The executor asks the view before every attempt (streams/execution/executor.py).
"""
