"""The exit statuses of `python -m lab` (the README's table mirrors them)."""

EXIT_OK = 0  # done: every replica replaced, nothing cut
EXIT_FAILED = 1  # a step failed: the current batch was undone (earlier batches stay replaced)
EXIT_BAD_INPUT = 2  # bad input, or another rollout holds the lock: nothing was changed
EXIT_CUT = 3  # done, but an old replica was stopped with work in flight or exited uncleanly
EXIT_SIGNAL_BASE = 128  # interrupted by signal N (SIGINT 130, SIGTERM 143): current batch undone
