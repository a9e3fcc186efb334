"""The proxy rollout: Traefik replaced by a second Traefik started beside it on the same ports, with
nothing dropped (the engine, pure over ProxyPlatform)."""
