"""Bad command lines: one clear line on stderr, exit status 2, and nothing run (no Docker here)."""

from __future__ import annotations

import pytest

from lab.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rollout", "--to", "v2", "--timeout", "nan"], "positive, finite"),
        (["rollout", "--to", "v2", "--timeout", "inf"], "positive, finite"),
        (["rollout", "--to", "v2", "--route-timeout", "-1"], "positive, finite"),
        (["rollback", "--timeout", "soon"], "not a number"),
        (["recover", "--route-timeout", "nan"], "positive, finite"),
        (["probe", "--short-rate", "inf"], "finite number"),
        (["probe", "--duration", "nan"], "positive, finite"),
        (["rollout"], "--to"),
        (["no-such-command"], "invalid choice"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("lab: ") and message in err
