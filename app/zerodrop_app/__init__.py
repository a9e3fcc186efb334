"""zerodrop's demo service: a FastAPI app with readiness, lame-duck shutdown and buffered writes."""
