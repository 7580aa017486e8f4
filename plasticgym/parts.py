"""Parts of an agent: one mechanism each, described by a small frozen spec.

A part spec (a dopamine model such as :func:`plasticgym.dopamine.redish`, synaptic scaling, a
habit pathway, latent causes, ...) holds the parameters of one mechanism, validates them on
construction and writes itself as JSON. An agent is configured by choosing parts::

    PlasticAgent(env, dopamine=redish(surge=0.3), scaling=SynapticScaling(), habit=None)

Parameters named in a part's ``PER_AGENT`` may be one number for every agent, one number per
agent (a sequence) or a :class:`plasticgym.population.Distribution` (sampled by the agent from
its seed). The agent then hands the part its values as floats or tensors ``[B]`` through
:meth:`Part.bound`, so a part's methods read ``self.surge`` whatever was given.

Every parameter also has a flat name (``FLAT``; by default ``<KIND>_<field>``): the keyword of
earlier versions (``drug_surge``), used for per-agent record columns, sweeps and the command
line. :func:`from_flat` builds a part from flat keywords.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from torch import Tensor

from plasticgym.config import check_number, check_per_agent
from plasticgym.population import Distribution


@dataclasses.dataclass(frozen=True)
class Part:
    """Base of every part spec (a frozen dataclass).

    Class attributes of a subclass:
        KIND: the part's name in JSON and the prefix of its default flat names.
        LIMITS: allowed range of each numeric field (keywords of
            :func:`plasticgym.config.check_number`).
        PER_AGENT: the fields that may differ between agents.
        FLAT: field -> flat name, where it differs from ``<KIND>_<field>``.
    """

    KIND: ClassVar[str] = ""
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    PER_AGENT: ClassVar[tuple[str, ...]] = ()
    FLAT: ClassVar[Mapping[str, str]] = {}

    def __post_init__(self) -> None:
        for field, limits in self.LIMITS.items():
            value = getattr(self, field)
            label = self.flat_name(field)
            try:
                if field not in self.PER_AGENT:
                    check_number(label, value, **limits)
                elif not isinstance(value, Distribution):
                    value = check_per_agent(label, value, check_number, **limits)
                    object.__setattr__(self, field, value)
            except ValueError as error:
                raise ValueError(f"{type(self).__name__}.{field}: {error}") from None
        self.check()

    def check(self) -> None:
        """Checks between fields (override); raise ``ValueError`` naming them."""

    @classmethod
    def flat_name(cls, field: str) -> str:
        """The flat keyword of ``field`` (``drug_surge`` for :class:`Redish`'s ``surge``)."""
        return cls.FLAT.get(field, f"{cls.KIND}_{field}")

    @classmethod
    def flat_names(cls) -> dict[str, str]:
        """Flat keyword -> field, for every field."""
        return {cls.flat_name(f.name): f.name for f in dataclasses.fields(cls)}

    def per_agent_values(self) -> dict[str, Any]:
        """The per-agent fields by flat name (numbers, tuples or distributions)."""
        return {self.flat_name(field): getattr(self, field) for field in self.PER_AGENT}

    def bound(self, values: Mapping[str, float | Tensor]) -> Self:
        """The part as its agent runs it: per-agent fields replaced by ``values`` (by flat
        name), floats or tensors ``[B]`` (not validated again: they were)."""
        bound = copy.copy(self)
        for field in self.PER_AGENT:
            object.__setattr__(bound, field, values[self.flat_name(field)])
        return bound

    def to_json(self) -> dict[str, Any]:
        """``{"kind": KIND, field: value, ...}`` (tuples as lists)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"kind": self.KIND, **{k: _json(v) for k, v in fields.items()}}

    @classmethod
    def from_flat(cls, flat: Mapping[str, Any]) -> Self:
        """The part from flat keywords (those it does not know are ignored)."""
        names = cls.flat_names()
        return cls(**{names[k]: v for k, v in flat.items() if k in names})


def _json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    if isinstance(value, Distribution):
        raise ValueError(f"{value!r} must be sampled before it is written as JSON")
    return value


__all__ = ["Part"]
