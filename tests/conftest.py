import sys
from pathlib import Path

# test modules share small builders (tests/test_modeling.py): make them importable
sys.path.insert(0, str(Path(__file__).resolve().parent))
