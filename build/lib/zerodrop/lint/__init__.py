"""The pre-flight check of a compose file for the traps that make a rollout drop requests."""
