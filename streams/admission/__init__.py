"""Fleet blast radius and storm mode: how many clusters may be under recovery at once,
fleet-wide, and when to stop acting because most of the fleet looks unreachable.

Reading map: ``caps.py`` (a count or a share of the inventory), ``storm.py`` (the storm
window's rule), ``book.py`` (the owner's pure bookkeeping: grants, the waiting line, the
storm), ``records.py`` (the topics' JSON), ``owner.py`` (the agent of the one worker that
grants), ``view.py`` (every worker's copy of the answers), ``gate.py`` (the executor's
side: ask before acting, release at the end).

Decisions, and why:
- One writer decides. Asks travel under one key of the admission topic, so one partition,
  owned by one worker of the group, sees them all in order; its answers (the grants topic,
  compacted) are also its memory, so a new owner continues from them.
- The storm is decided by the owner too: it sees every ask and knows the inventory (the
  fleet file), and only it can make "escalate once" true fleet-wide.
- In a storm, the recovery whose ask tipped it ends Escalated with "suspected
  control-plane or network partition: ..." (the storm's one escalation); every other
  disruptive recovery waits (Waiting before its first attempt, its retry held after), and
  goes on once the storm is over: when the fleet comes back, it finds little to do.
- Off by default (``admission.enabled``): each recovery then pays no round trip.
"""
