"""The federation file: what loads, and the one-line errors for what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedcluster.errors import FederationFileError
from fedcluster.federation.load import load_federation, parse_federation
from fedcluster.federation.model import FedProxSettings
from fedcluster.federation.templates import starter_federation

MINIMAL = """
name = "two-sites"
[[hospital]]
name = "North"
data = "north.csv"
[[hospital]]
name = "South"
data = "data/south.parquet"
"""


def parse(text: str, where: str = "/fed/federation.toml") -> object:
    return parse_federation(text, Path(where))


def error_of(text: str) -> str:
    with pytest.raises(FederationFileError) as caught:
        parse(text)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_minimal_file_gets_safe_defaults_and_paths_relative_to_the_file() -> None:
    federation = parse_federation(MINIMAL, Path("/fed/federation.toml"))

    assert federation.runtime == "simulation"
    assert federation.strategy.name == "fedavg"
    assert federation.min_hospitals == 2
    assert federation.hospitals[1].data == Path("/fed/data/south.parquet")
    assert federation.runs_dir == Path("/fed/runs")


def test_the_starter_file_written_by_init_is_valid() -> None:
    federation = parse_federation(starter_federation(), Path("/x/federation.toml"))

    assert [h.name for h in federation.hospitals] == [
        "Cleveland",
        "Hungary",
        "VA Long Beach",
        "Switzerland",
    ]
    assert federation.task.params["model"] == "logistic"


def test_strategy_parameters_are_validated_per_strategy() -> None:
    federation = parse_federation(
        MINIMAL + '[strategy]\nname = "fedprox"\nproximal_mu = 0.5\n',
        Path("/f/federation.toml"),
    )

    assert isinstance(federation.strategy, FedProxSettings)
    assert federation.strategy.proximal_mu == 0.5


def test_a_misspelt_key_is_named_with_the_file_and_the_fix() -> None:
    message = error_of("rouns = 3\n" + MINIMAL)

    assert message.startswith("/fed/federation.toml: key rouns:")
    assert "remove it or check its spelling" in message


def test_a_wrong_value_in_a_hospital_names_that_hospital() -> None:
    message = error_of(MINIMAL.replace('"data/south.parquet"', "12"))

    assert "hospital[1].data" in message
    assert "'South'" in message


def test_an_unknown_strategy_lists_the_known_ones() -> None:
    message = error_of(MINIMAL + '[strategy]\nname = "fedsgd"\n')

    assert "key strategy:" in message
    assert "'fedavg'" in message and "'fedprox'" in message


def test_a_strategy_parameter_of_another_strategy_is_refused() -> None:
    message = error_of(MINIMAL + '[strategy]\nname = "fedavg"\nproximal_mu = 1\n')

    assert "strategy.proximal_mu" in message


def test_more_min_hospitals_than_hospitals_is_refused_with_the_fix() -> None:
    message = error_of("min_hospitals = 3\n" + MINIMAL)

    assert "min_hospitals is 3 but only 2 hospitals" in message
    assert "lower min_hospitals" in message


def test_two_hospitals_with_the_same_name_are_refused() -> None:
    message = error_of(MINIMAL.replace('"South"', '"North"'))

    assert "'North' is used twice" in message


def test_broken_toml_names_the_line() -> None:
    message = error_of("name = \n")

    assert "not valid TOML" in message and "line 1" in message


def test_a_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(FederationFileError, match="fedcluster init"):
        load_federation(tmp_path / "nope.toml")


def test_a_file_without_hospitals_asks_for_them() -> None:
    message = error_of('name = "empty"\n')

    assert "key hospital:" in message
