"""plasticgym: reinforcement-learning tasks solved by synapses that learn by three-factor rules."""

__version__ = "0.1.0"
