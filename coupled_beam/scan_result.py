"""Result of a parameter scan (:func:`coupled_beam.scan.scan`): reductions, ``.npz``, PNG.

Holds the outputs as numpy arrays or, until computed, lazy dask arrays;
dask, distributed and matplotlib are imported inside the methods that need
them.

References
----------
C. Bernardini and C. Pellegrini, LNF-64/55 (1964), §5 (the kernels scanned).

Examples
--------
>>> from coupled_beam.scan import scan
>>> res = scan("eigentunes", axes={"m": [0.0, 0.01]},
...            fixed={"mu_x": 1.0, "mu_z": 2.0, "beta_x": 5.0, "beta_z": 5.0})
>>> res.lazy, res.summary()["stable_fraction"]
(False, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coupled_beam.errors import InputError

__all__ = ["ScanResult"]


@dataclass
class ScanResult:
    """Inputs and outputs of a scan.

    Attributes
    ----------
    kernel : ScanKernel
        What was evaluated.
    shape : tuple of int
        Broadcast shape of the points (grid: one dimension per axis, in order).
    axes : dict of str to numpy.ndarray
        Grid axes (1-D), in dimension order; empty for a point scan.
    params : dict
        Every kernel parameter as given (scalar, 1-D axis, or array of points).
    outputs : dict of str to array
        Kernel outputs of shape ``shape``: numpy arrays, or lazy dask arrays
        until :meth:`compute`.
    """

    kernel: ScanKernel
    shape: tuple
    axes: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)

    @property
    def lazy(self) -> bool:
        """True while the outputs are dask arrays."""
        return any(_is_dask(v) for v in self.outputs.values())

    def compute(self, *, progress: bool = False, scheduler: str | None = None,
                max_points: int | None = None) -> "ScanResult":
        """Evaluate lazy outputs (one dask graph; a progress bar if asked).

        With a ``distributed.Client`` active and no ``scheduler`` given, the
        client runs the graph (progress from ``distributed.progress``);
        otherwise ``dask.diagnostics.ProgressBar`` on the local scheduler.
        The outputs are materialised in this process, so the point budget of
        :func:`coupled_beam.scan.check_budget` applies (``max_points``, default
        :data:`coupled_beam.scan.MAX_POINTS`): reduce a larger lazy scan with
        :meth:`summary` or store it chunk by chunk instead.

        Examples
        --------
        >>> from coupled_beam.scan import scan
        >>> res = scan("eigentunes", fixed={"mu_x": 1.0, "mu_z": 2.0, "beta_x": 1.0,
        ...                                 "beta_z": 1.0, "m": 0.0})
        >>> res.compute() is res
        True
        """
        if not self.lazy:
            return self
        from coupled_beam.scan import check_budget

        check_budget(int(math.prod(self.shape)), max_points, what="materialising this lazy scan")
        names = list(self.outputs)
        values = _dask_compute([self.outputs[k] for k in names], progress, scheduler)
        self.outputs = dict(zip(names, (np.asarray(v) for v in values)))
        return self

    def summary(self) -> dict:
        """Counts and fractions (computed lazily on dask, without materializing outputs).

        Returns
        -------
        dict
            ``kernel``, ``shape``, ``n_points``; ``stable_fraction`` when the
            kernel has a ``stable`` output; ``nan_fraction`` per float output.

        Examples
        --------
        >>> from coupled_beam.scan import scan
        >>> res = scan("eigentunes", axes={"m": [0.0, 1.0]},
        ...            fixed={"mu_x": 3.0, "mu_z": 3.0, "beta_x": 10.0, "beta_z": 10.0})
        >>> res.summary()["stable_fraction"]
        0.5
        """
        n = int(math.prod(self.shape))
        out: dict = {"kernel": self.kernel.name, "shape": list(self.shape), "n_points": n}
        lazy = {}
        for name, arr in self.outputs.items():
            if arr.dtype == bool:
                lazy[f"{name}_fraction"] = arr.mean() if n else np.float64(np.nan)
            else:
                lazy.setdefault("nan_fraction", {})[name] = np.isnan(arr).mean() if n else np.float64(np.nan)
        flat = [(k, None, v) for k, v in lazy.items() if k != "nan_fraction"]
        flat += [("nan_fraction", k, v) for k, v in lazy.get("nan_fraction", {}).items()]
        values = [v for _, _, v in flat]
        if any(_is_dask(v) for v in values):
            import dask

            values = dask.compute(*values)
        for (key, sub, _), val in zip(flat, values):
            if sub is None:
                out[key] = float(val)
            else:
                out.setdefault(key, {})[sub] = float(val)
        return out

    def to_npz(self, path: str | Path) -> Path:
        """Write outputs, grid axes and parameters to an ``.npz`` file.

        Keys: each output name; ``axis_<name>`` for grid axes; ``param_<name>``
        for every parameter (as given); ``kernel`` (its name).

        Examples
        --------
        >>> import tempfile, os
        >>> from coupled_beam.scan import scan
        >>> res = scan("eigentunes", axes={"mu_x": [1.0, 2.0]},
        ...            fixed={"mu_z": 1.5, "beta_x": 5.0, "beta_z": 5.0, "m": 0.01})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = res.to_npz(os.path.join(d, "scan.npz"))
        ...     sorted(np.load(p).files)[:3]
        ['axis_mu_x', 'g_minus', 'g_plus']
        """
        self.compute()
        path = Path(path)
        payload = {k: np.asarray(v) for k, v in self.outputs.items()}
        payload.update({f"axis_{k}": np.asarray(v) for k, v in self.axes.items()})
        payload.update({f"param_{k}": np.asarray(v) for k, v in self.params.items() if not _is_dask(v)})
        payload["kernel"] = np.array(self.kernel.name)
        np.savez(path, **payload)
        return path

    def stability_png(self, path: str | Path, *, dpi: int = 110) -> Path:
        """Stability diagram of a 2-D grid scan as a PNG (matplotlib, Agg backend).

        For ``eigentunes``: unstable points dark, stable points coloured by the
        mode split g- − g+ (rad). For other kernels: the first output.

        Raises
        ------
        InputError
            The scan is not a 2-D grid.

        Examples
        --------
        >>> import tempfile, os
        >>> from coupled_beam.scan import scan
        >>> res = scan("eigentunes", axes={"mu_x": np.linspace(0.1, 3.0, 20),
        ...            "mu_z": np.linspace(0.1, 3.0, 20)},
        ...            fixed={"beta_x": 5.0, "beta_z": 5.0, "m": 0.05})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     res.stability_png(os.path.join(d, "s.png")).stat().st_size > 1000
        True
        """
        if len(self.axes) != 2 or len(self.shape) != 2:
            raise InputError(f"a stability diagram needs a 2-D grid scan, got axes {list(self.axes)}; "
                             "scan with exactly two axes", axes=list(self.axes))
        self.compute()
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        (nx, ax_x), (nz, ax_z) = self.axes.items()
        fig = Figure(figsize=(6.0, 5.0))
        ax = fig.add_subplot()
        extent = (ax_x[0], ax_x[-1], ax_z[0], ax_z[-1])
        if "stable" in self.outputs:
            ok = np.asarray(self.outputs["stable"])
            split = np.where(ok, self.outputs["g_minus"] - self.outputs["g_plus"], np.nan)
            ax.imshow(np.where(ok, np.nan, 1.0).T, origin="lower", extent=extent, aspect="auto",
                      cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest")
            im = ax.imshow(split.T, origin="lower", extent=extent, aspect="auto", interpolation="nearest")
            label = "g- − g+ (rad); grey: unstable"
            frac = float(ok.mean()) if ok.size else float("nan")
            ax.set_title(f"stability diagram: {100 * frac:.1f} % stable")
        else:
            first = next(iter(self.outputs))
            im = ax.imshow(np.asarray(self.outputs[first]).T, origin="lower", extent=extent,
                           aspect="auto", interpolation="nearest")
            label = first
            ax.set_title(f"{self.kernel.name}: {first}")
        fig.colorbar(im, ax=ax, label=label)
        ax.set_xlabel(nx)
        ax.set_ylabel(nz)
        fixed = ", ".join(f"{k}={float(v):g}" for k, v in self.params.items()
                          if k not in self.axes and np.ndim(v) == 0)
        if fixed:
            fig.text(0.01, 0.01, fixed, fontsize=7)
        path = Path(path)
        fig.savefig(path, dpi=dpi)
        return path


def _is_dask(value) -> bool:
    mod = type(value).__module__ or ""
    return mod.startswith("dask.")


def _dask_compute(arrays: list, progress: bool, scheduler: str | None) -> list:
    import dask

    client = None
    if scheduler is None:
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            client = None
    if client is not None:
        futures = client.compute(arrays)
        if progress:
            from distributed import progress as dist_progress

            dist_progress(futures)
        return client.gather(futures)
    if progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            return list(dask.compute(*arrays, scheduler=scheduler))
    return list(dask.compute(*arrays, scheduler=scheduler))
