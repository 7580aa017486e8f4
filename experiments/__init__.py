"""Runnable studies that reproduce classic findings (imported as ``plasticgym.experiments``)."""
