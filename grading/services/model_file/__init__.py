"""The model file: reading and validating it (read.py: YAML 1.2 with lines, every problem listed)
and the version the running service grades with (active.py: reload, watch, the refused newer one).
"""
