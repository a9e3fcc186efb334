"""`python -m zerodrop`: the same as the `zerodrop` command."""

from zerodrop.cli import main

raise SystemExit(main())
