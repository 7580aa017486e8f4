"""plasticgym: reinforcement-learning tasks solved by synapses that learn by three-factor rules.

Importing plasticgym registers its Gymnasium tasks under the ``plasticgym/`` namespace.
"""

from plasticgym import envs as _envs  # noqa: F401  (the registration hook)

__version__ = "0.1.0"
