"""The control API, the front door programs use: one JSON request per line (serve.py), read with the
bounds of hostile input (lines.py).  Library code never imports from here (tests/unit/test_layers.py)."""
