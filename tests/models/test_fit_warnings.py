"""The fit log's warnings are the fit's own."""

import gc
import warnings

from ips_eval.models.common import warning_texts


class _LeftOpen:
    """An object some earlier code left in a reference cycle, complaining when collected (as an
    unclosed socket does)."""

    def __init__(self):
        self.me = self

    def __del__(self):
        warnings.warn("Unclosed socket <x>", ResourceWarning, stacklevel=1)


def test_a_resource_warning_from_the_collector_during_a_fit_is_not_the_fits():
    _LeftOpen()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("Maximum number of iterations has been exceeded.", RuntimeWarning, stacklevel=1)
        gc.collect()  # the collector frees the earlier object inside the fit's capture
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    assert warning_texts(caught) == ["Maximum number of iterations has been exceeded."]
