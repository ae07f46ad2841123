import logging
import sys
from pathlib import Path

import pytest
import torch
from accelerate.state import AcceleratorState, GradientState

# test modules share small builders (tests/test_modeling.py): make them importable
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_report_header() -> str:
    """The versions the parity tests ran against (`make test-oldest` lays older transformers over the venv's)."""
    import huggingface_hub
    import transformers

    versions = (("torch", torch), ("transformers", transformers), ("huggingface_hub", huggingface_hub))
    return ", ".join(f"{name} {module.__version__}" for name, module in versions)


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


@pytest.fixture
def forget_warnings_given_once():
    """transformers' `warning_once` warns once per process and message, so a test that asserts such a warning starts
    with none given; it may call the returned function to forget them again."""

    def forget() -> None:
        logging.Logger.warning_once.cache_clear()

    forget()
    return forget
