"""`python -m grading`: the same command line as `grading`."""

from grading.cli import main

if __name__ == "__main__":
    main()
