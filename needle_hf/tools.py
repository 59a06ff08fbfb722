"""Tool schemas in every accepted format -> canonical :class:`Tool`; call parsing, validation and names.

Re-exports :mod:`needle_hf.modeling.tools` (the same module ships as Hub remote code).
"""
from .modeling.tools import *  # noqa: F401,F403
from .modeling.tools import __all__  # noqa: F401
