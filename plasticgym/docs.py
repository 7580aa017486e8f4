"""Render the task documentation (``docs/tasks.md``) from the task docstrings.

Each task's class docstring is its spec; this page collects them so the docs cannot drift.
Regenerate with ``python -m plasticgym.docs > docs/tasks.md``.
"""

from __future__ import annotations

import inspect

import gymnasium as gym

HEADER = """# plasticgym tasks

Every task is registered under the `plasticgym/` namespace when `plasticgym` is imported, with
a native vector version (`gym.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")`)
that shares its transition function with the single env. This page is generated from the task
docstrings by `python -m plasticgym.docs > docs/tasks.md`; a test keeps it in sync.
"""


def task_ids() -> list[str]:
    """Registered plasticgym task ids, sorted."""
    import plasticgym  # noqa: F401  (registers the tasks)

    return sorted(k for k in gym.registry if k.startswith("plasticgym/"))


def render_task_docs() -> str:
    """Markdown for every registered task: its id as a title, then its docstring."""
    sections = [HEADER]
    for env_id in task_ids():
        entry_point = gym.registry[env_id].entry_point
        module_name, class_name = entry_point.split(":")
        module = __import__(module_name, fromlist=[class_name])
        doc = inspect.cleandoc(getattr(module, class_name).__doc__ or "")
        first, _, rest = doc.partition("\n")
        body = rest.replace("\n## ", "\n### ")
        sections.append(f"## `{env_id}` ({class_name})\n\n{first}\n{body}\n")
    return "\n".join(sections)


if __name__ == "__main__":
    print(render_task_docs(), end="")
