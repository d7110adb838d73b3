"""Write examples/churn.csv: a small synthetic churn table (numeric, categorical, missing values).

Run `python examples/make_example.py` to regenerate it; the output is deterministic.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(2026)
n = 240
tenure = rng.integers(1, 72, size=n)
monthly = np.round(rng.normal(65, 25, size=n).clip(15, 150), 2)
contract = rng.choice(["month-to-month", "one year", "two year"], size=n, p=[0.55, 0.25, 0.2])
support_calls = rng.poisson(1.5, size=n)
paperless = rng.choice(["yes", "no"], size=n)
logit = -1.0 - 0.04 * tenure + 0.015 * monthly + 0.5 * support_calls + 1.2 * (contract == "month-to-month")
churn = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "churned", "stayed")
frame = pd.DataFrame(
    {
        "tenure_months": tenure,
        "monthly_charges": monthly,
        "contract": contract,
        "support_calls": support_calls,
        "paperless_billing": paperless,
        "churn": churn,
    }
)
frame.loc[rng.choice(n, 12, replace=False), "monthly_charges"] = np.nan
frame.loc[rng.choice(n, 8, replace=False), "contract"] = np.nan
frame.to_csv(Path(__file__).with_name("churn.csv"), index=False)
