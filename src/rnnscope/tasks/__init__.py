"""Built-in tasks and their registry: `get_task("evidence", seq_len=80)` builds one by name (any case)."""

from rnnscope.errors import BadArgument
from rnnscope.names import canonical
from rnnscope.tasks.base import Task
from rnnscope.tasks.evidence import Evidence
from rnnscope.tasks.flipflop import FlipFlop
from rnnscope.tasks.frequency import Frequency
from rnnscope.tasks.mixture import Mixture
from rnnscope.tasks.motif import Motif
from rnnscope.tasks.recall import DelayedRecall

TASKS: dict[str, type[Task]] = {
    "mixture": Mixture,
    "evidence": Evidence,
    "motif": Motif,
    "frequency": Frequency,
    "recall": DelayedRecall,
    "flipflop": FlipFlop,
}


def get_task(name: str, **params) -> Task:
    """The task registered as `name` (matched ignoring case), built with `params` (validated by the task
    itself). BadArgument for an unknown name, parameter or value."""
    name = canonical(name, sorted(TASKS), "task")
    try:
        return TASKS[name](**params)
    except TypeError as err:  # an unknown parameter name
        fields = ", ".join(TASKS[name].__dataclass_fields__)
        raise BadArgument(
            f"task {name!r} does not take those parameters ({err}); its parameters: {fields}"
        ) from None


__all__ = ["TASKS", "DelayedRecall", "Evidence", "Frequency", "Mixture", "Motif", "Task", "get_task"]
