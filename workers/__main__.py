"""`python -m workers`: run one arq worker process with settings from the environment."""

from __future__ import annotations

from workers.runner import main

if __name__ == "__main__":
    main()
