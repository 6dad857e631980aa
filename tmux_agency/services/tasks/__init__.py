"""The task graph: tasks across agencies, what each waits for, and a life cycle the traffic drives.

    graph.py      pure functions over tasks: ready, waiting, cycles, order, the critical path,
                  which task a message or an approval is about (no I/O)
    storage.py    registry/task_graph.json and the review log through the registry door; what
                  the graph reads of the agencies (the only module here with I/O)
    lifecycle.py  the state machine: add, dep, finish, dispatch, and the moves the traffic and
                  the approval queue make (see its table)

Nothing is imported here: `send` loads only what the traffic path needs (taskhook.py).
"""
