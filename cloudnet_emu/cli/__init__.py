"""The command line, the front door people type at: `cloudnet-emu COMMAND ...` (click).

    main.py      the group and the commands over pipeline.py (up, down, check, run, vm, vpc ...)
    args.py      argument types and the checks every argument gets before anything acts
    acl.py, reserve.py, ci.py, web.py   their command groups
    run.py       `run` of several scenario files; capture.py `capture`'s targets;
    control.py   the control plane as inspect and exec see it; shell.py the interactive shell

Library code never imports from here (tests/unit/test_layers.py).
"""
from .main import main

__all__ = ["main"]
