"""Spec + Decisions -> WorkflowPlan: every decision about workflows and jobs, as plain data.

groups.py   which builds share a job
values.py   what one build is, as the values its jobs read (images, tags, flavour, cache)
matrix.py   a job's builds or legs folded into shared values and matrix rows
jobs.py     each kind of job: what it runs, where, when, with which permissions and optional parts
workflows.py  which builds share a file, triggers, path filters, the publish condition, collisions

The steps are the templates' (templates/jobs/<kind>.yml.j2): the render stage lays the plan out
(render.lay_out), so that each job also lists the steps its template gives it (which actions it uses).
"""

from __future__ import annotations

from ..model import Spec
from ..strategy import Decisions
from ..workflow import WorkflowPlan
from .engine import CHECK_FILENAME
from .values import cache_tag, floats, image_refs
from .workflows import CHECK_REQUIREMENTS, plan_data, workflow_filename

__all__ = ["CHECK_FILENAME", "CHECK_REQUIREMENTS", "cache_tag", "floats", "image_refs", "plan_data",
           "plan_workflows", "workflow_filename"]


def plan_workflows(spec: Spec, decisions: Decisions) -> WorkflowPlan:
    """Every workflow the spec asks for, as decisions (no steps yet: render.lay_out adds them). Raises
    UserError, with every problem found, for a spec whose outputs cannot exist side by side."""
    return plan_data(spec, decisions)
