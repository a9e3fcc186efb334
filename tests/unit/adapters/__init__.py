"""Unit tests of zerodrop.adapters."""
