import sys
from pathlib import Path

import pytest
import torch
from accelerate.state import AcceleratorState, GradientState

# test modules share small builders (tests/test_modeling.py): make them importable
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and with a pytest worker on every core they only
    oversubscribe the CPU (several times slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def fresh_accelerate_state():
    """Each Accelerator a test builds starts from a clean state, as separate launches would (Accelerate keeps its
    state in process-wide singletons)."""
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
