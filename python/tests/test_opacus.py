"""ewtune.opacus: Opacus's accountant protocol.

Opacus needs torch, which CI does not install: the protocol is tested on its own, and the
registry/get_noise_multiplier path against a minimal stand-in of Opacus's accountant API
(tests/standin, run in a subprocess). With the real opacus installed, the registry test runs
against it too (otherwise it is skipped with a message)."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

import ewtune
from ewtune import opacus as ewop

HERE = pathlib.Path(__file__).resolve().parent


def test_step_history_len_and_heterogeneous_composition():
    acc = ewop.ContourAccountant()
    assert len(acc) == 0 and acc.get_epsilon(1e-5) == 0
    for _ in range(300):
        acc.step(noise_multiplier=1.0, sample_rate=0.01)
    for _ in range(200):
        acc.step(noise_multiplier=0.8, sample_rate=0.02)
    for _ in range(100):
        acc.step(noise_multiplier=1.0, sample_rate=0.01)
    assert acc.history == [(1.0, 0.01, 300), (0.8, 0.02, 200), (1.0, 0.01, 100)]
    assert len(acc) == 600
    assert acc.mechanism() == "ewtune-contour"
    eps = acc.get_epsilon(1e-5)
    native = ewtune.epsilon(1e-5, ewtune.Composed([
        ewtune.dpsgd(1.0, 0.01, 400), ewtune.dpsgd(0.8, 0.02, 200)]))
    assert eps == native.upper
    lo, hi = acc.get_bracket(1e-5)
    assert lo <= eps == hi
    # More steps never lower epsilon.
    acc.step(noise_multiplier=1.0, sample_rate=0.01)
    assert acc.get_epsilon(1e-5) >= eps


def test_state_dict_round_trip():
    acc = ewop.PldAccountant()
    for _ in range(50):
        acc.step(noise_multiplier=1.1, sample_rate=0.05)
    sd = acc.state_dict()
    assert sd["mechanism"] == "ewtune-pld"
    other = ewop.PldAccountant()
    other.load_state_dict(sd)
    assert other.history == acc.history and len(other) == 50
    assert other.get_epsilon(1e-5) == acc.get_epsilon(1e-5)
    with pytest.raises(ValueError):
        ewop.ContourAccountant().load_state_dict(sd)
    with pytest.raises(ValueError):
        ewop.ContourAccountant().load_state_dict({})


def test_non_private_steps_and_bad_input():
    acc = ewop.RdpAccountant()
    acc.step(noise_multiplier=0.0, sample_rate=0.1)
    assert acc.get_epsilon(1e-5) == float("inf")
    acc = ewop.ContourAccountant()
    acc.step(noise_multiplier=1.0, sample_rate=1.5)
    with pytest.raises(ValueError, match="sampling_rate"):
        acc.get_epsilon(1e-5)
    with pytest.raises(ValueError, match="tolerance"):
        ewop.ContourAccountant(tolerance=3.0)


@pytest.mark.parametrize("cls", ewop.ALL)
def test_every_accountant_answers(cls):
    acc = cls()
    for _ in range(20):
        acc.step(noise_multiplier=1.0, sample_rate=0.05)
    assert 0 < acc.get_epsilon(1e-5) < 10


REGISTRY_CHECK = r"""
import ewtune.opacus as ewop
from opacus.accountants import IAccountant
from opacus.accountants.registry import create_accountant
from opacus.accountants.utils import get_noise_multiplier
import ewtune
assert ewop.HAVE_OPACUS
assert issubclass(ewop.ContourAccountant, IAccountant)
names = ewop.register()
assert "ewtune-contour" in names, names
acc = create_accountant("ewtune-contour")
assert isinstance(acc, ewop.ContourAccountant)
sigma = get_noise_multiplier(target_epsilon=3.0, target_delta=1e-5, sample_rate=0.01,
                             steps=1000, accountant="ewtune-contour", epsilon_tolerance=0.01)
eps = ewtune.epsilon(1e-5, sigma=sigma, sampling_rate=0.01, steps=1000).upper
assert 2.99 - 1e-9 <= eps <= 3.0, (sigma, eps)
print("registry ok", sigma, eps)
"""


def test_registry_and_noise_multiplier_search_with_standin():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE / "standin") + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", REGISTRY_CHECK], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "registry ok" in out.stdout


def test_registry_with_real_opacus():
    if importlib.util.find_spec("opacus") is None:
        pytest.skip("SKIPPED: opacus is not installed (it needs torch); the registry path was "
                    "tested against the stand-in above")
    out = subprocess.run([sys.executable, "-c", REGISTRY_CHECK], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_opacus_edgeworth_refuses_an_invalid_estimate_and_accountants_pickle():
    import pickle

    acc = ewop.EdgeworthAccountant()
    for _ in range(100):
        acc.step(noise_multiplier=1.0, sample_rate=0.001)
    assert not acc.get_report(1e-5).valid
    with pytest.raises(ewtune.ComputationError, match="invalid at this query"):
        acc.get_epsilon(1e-5)
    contour = ewop.ContourAccountant()
    for _ in range(10):
        contour.step(noise_multiplier=0.8, sample_rate=0.01)
    clone = pickle.loads(pickle.dumps(contour))
    assert clone.history == contour.history
    assert clone.get_epsilon(1e-5) == contour.get_epsilon(1e-5)
