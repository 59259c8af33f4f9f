"""`python -m grading.demo` (what `make run` starts): see run.py."""

from grading.demo.run import launch

if __name__ == "__main__":
    launch()
