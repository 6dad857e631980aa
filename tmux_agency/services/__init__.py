"""Services: what tmux-agency does - agencies, the bus and delivery, approvals and the sandbox,
the task graph, metrics, the views the control room shows. Both faces (cli/, tui/) call the same
functions here; services reach the world only through the doors.

Importing any service connects the ones that follow another: the task graph hears of the bus's
traffic through a listener, so that the bus need not import the task graph (which sends through
the bus).
"""

from tmux_agency.services import taskhook, traffic

traffic.listen(taskhook.follow)
