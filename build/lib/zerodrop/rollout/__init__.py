"""The rollout engine: plan, execute, create, confirm, retire, undo, recover, record. It imports no
Docker and no HTTP client: every effect goes through `ServicePlatform`."""
