"""The lab's own errors, below zerodrop's tree (zerodrop/errors.py): each is one line and an exit
status, printed by `python -m lab` as zerodrop's are.

    zerodrop.errors.InputError                 2  bad input: nothing was changed
    ├── SoakInputError                         2  rounds the soak will not run
    └── SwarmInputError                        2  what the Swarm lab cannot do (nothing was changed)
"""

from __future__ import annotations

from zerodrop.errors import InputError


class SoakInputError(InputError):
    """The soak was asked for a number of rounds it will not run."""


class SwarmInputError(InputError):
    """The Swarm lab was asked for something it cannot do (nothing was changed)."""
