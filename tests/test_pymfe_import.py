"""pymfe is imported without matplotlib (0.3 s of a cold `recommend`), and nothing it computes changes."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_mfe_class_skips_matplotlib_and_leaves_it_importable():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from automl_meta.metafeatures.groups import mfe_class

        MFE = mfe_class()
        assert "matplotlib" not in sys.modules, "matplotlib was imported with pymfe"
        rng = np.random.default_rng(0)
        X = rng.normal(size=(120, 4))
        y = (X[:, 0] + rng.normal(scale=0.5, size=120) > 0).astype(int)
        mfe = MFE(groups=["complexity"], features=["n1", "density", "lsc"], random_state=0)
        mfe.fit(X, y)
        names, values = mfe.extract()
        assert all(np.isfinite(v) for v in values), dict(zip(names, values))  # igraph still works
        import matplotlib.pyplot  # importable again afterwards
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
