"""Metrics from the registry and the message log: how the agencies deliver, and what they learn.

    facts.py    what the metrics are made of: frozen value objects, one per fact found
    scan.py     reading: registry/task_graph.json (each task's history of states),
                registry/reviews.jsonl (every enqueue and decision of the approval queue; items
                from before it existed are read from approval_queue.json), the message log
                (streamed, incrementally: handoffs, QA results, review scores, messages per day)
                and agencies/*/lessons.md
    compute.py  the figures, from the facts (pure): a plain dict, JSON as it is
    render.py   the figures as text, for `tmux-agency metrics`
    report.py   what the faces call: scan, then compute

Nothing is imported here.
"""
