"""The exception hierarchy: builtin bases and pickling (errors cross Dask workers)."""

import pickle

import pytest

from coupled_beam import errors


@pytest.mark.parametrize("cls, builtin", [
    (errors.InputError, ValueError),
    (errors.UnstableError, ValueError),
    (errors.ResonanceError, ArithmeticError),
    (errors.LatticeFileError, ValueError),
    (errors.UnknownElementError, errors.LatticeFileError),
])
def test_error_inherits_base_and_builtin_and_pickles(cls, builtin):
    """Each error is a CoupledBeamError and its builtin, and survives pickling with its details."""
    err = cls("bad value 3.0: change it", value=3.0, line=7)
    assert isinstance(err, errors.CoupledBeamError) and isinstance(err, builtin)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls and str(back) == str(err) and back.value == 3.0 and back.line == 7
