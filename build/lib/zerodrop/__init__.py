"""zerodrop, the tool: a rolling replacement of a compose service behind Traefik that drops
nothing, confirmed in Traefik's API, and the probe and lint that prove and guard it.

Packages, lowest floor first (a module imports only from its own floor or below; a unit test
reads the imports and holds this):
- `zerodrop.errors`, `zerodrop.model`, `zerodrop.target`, `zerodrop.waits`: the vocabulary;
- `zerodrop.rollout`: the engine, which sees Docker and Traefik only through `ServicePlatform`;
- `zerodrop.adapters`: Docker (SDK, CLI, compose) and Traefik's API behind that protocol;
- `zerodrop.measure`: the probe, its records and reports, the write check, the timeline;
- `zerodrop.lint`: the pre-flight check of a compose file.
"""

__version__ = "0.1.0"
