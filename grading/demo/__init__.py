"""The demo: realistic generated data (dataset.py and the modules it draws from), the filler of an
empty database (fill.py) and the `make run` launcher (run.py, `python -m grading.demo`).

The generator's modules (vocabulary, behaviour, people, dataset) use the standard library only,
so that the benchmarks can import them and the data cannot be tuned to the code it tests."""
