"""`zerodrop up`: a `docker compose up -d` for a whole project that drops nothing. The plan (which
service changes, and how) is decided as compose decides it; routed services are rolled."""
