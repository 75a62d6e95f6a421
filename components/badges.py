"""Task status badges shown on the rating cells and indicator rows the tasks came from."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from data_access.tasks import STATUSES

COLORS = {"new": "primary", "in_progress": "info", "review": "warning", "done": "success", "cancelled": "secondary"}
ORDER = ["review", "in_progress", "new", "done", "cancelled"]


def task_badges(tasks, link_prefix: str = "/task/"):
    """One badge per task (open ones first); overdue tasks are marked."""
    if tasks is None or len(tasks) == 0:
        return None
    items = sorted(tasks.to_dict("records"), key=lambda t: (ORDER.index(t["status"]), -t["task_id"]))
    out = []
    for t in items[:3]:
        label = STATUSES[t["status"]] + (" · просрочена" if t.get("overdue") else "")
        out.append(dcc.Link(dbc.Badge(label, color="danger" if t.get("overdue") else COLORS[t["status"]],
                                      className="me-1 task-badge", id={"type": "task-badge", "task": int(t["task_id"])}),
                            href=f"{link_prefix}{int(t['task_id'])}", title=t["title"]))
    if len(items) > 3:
        out.append(html.Span(f"+{len(items) - 3}", className="small text-muted"))
    return html.Span(out)
