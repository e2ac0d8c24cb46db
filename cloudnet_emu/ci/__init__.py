"""Pipelines for the user's own CI (`cloudnet-emu ci init`): render.py and its templates."""
