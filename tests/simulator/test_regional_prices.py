"""Prices for the stack's Region (issue 15): the table's figures where a cited source gives them, us-east-1's
otherwise with a warning naming the Region and the figures, the scenario's own prices kept; the Lambda
duration price is the Arm one (the functions are arm64)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.components.code_archive import LAMBDA_ARCHITECTURE
from landing_pipeline.simulator.prices import DEFAULT_PRICES
from landing_pipeline.simulator.regional_prices import FALLBACK_REGION, PRICED, REGIONAL, prices_for
from tests.simulator.conftest import ROOT, scenario

SMALL = {"duration_s": 60, "arrivals": [{"burst": {"at_s": 0, "files": 4, "groups": 2, "spread_s": 10}}]}
MOST_PICKED = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "eu-west-2", "ap-southeast-1",
               "ap-southeast-2", "ap-northeast-1")


def test_every_figure_in_the_table_names_its_source_and_us_east_1_has_them_all() -> None:
    assert set(MOST_PICKED) <= set(REGIONAL)
    assert set(REGIONAL[FALLBACK_REGION]) == set(PRICED)
    for region, figures in REGIONAL.items():
        for name, (value, source) in figures.items():
            assert value >= 0 and len(source) > 20, (region, name)


def test_the_lambda_duration_price_is_arm_s_as_the_functions_are_arm64() -> None:
    assert LAMBDA_ARCHITECTURE == "arm64"
    assert DEFAULT_PRICES.lambda_per_gb_s == REGIONAL["us-east-1"]["lambda_per_gb_s"][0] == 0.0000133334


def test_a_listed_region_takes_its_figures_and_says_which_are_us_east_1_s() -> None:
    regional = prices_for("eu-west-1")
    assert regional.prices.glue_dpu_hour == REGIONAL["eu-west-1"]["glue_dpu_hour"][0]
    assert "glue_dpu_hour" not in regional.fallback and "lambda_per_gb_s" in regional.fallback
    (note,) = regional.notes
    assert "eu-west-1" in note and "lambda_per_gb_s" in note and "us-east-1" in note
    assert prices_for("us-east-1").notes == [] and prices_for(None).region == "us-east-1"


def test_an_unknown_region_falls_back_to_us_east_1_with_a_warning_naming_it() -> None:
    regional = prices_for("me-central-9")
    assert regional.prices == DEFAULT_PRICES
    assert "me-central-9" in regional.notes[0]


def test_the_scenario_s_own_prices_win_over_the_region_s() -> None:
    priced = scenario({**SMALL, "prices": {"glue_dpu_hour": 0.5}}).for_region("eu-west-1")
    assert priced.prices.glue_dpu_hour == 0.5 and priced.region == "eu-west-1"
    assert priced.prices.lambda_per_gb_s == DEFAULT_PRICES.lambda_per_gb_s


def test_landing_simulate_prices_the_stack_s_region(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text("duration_s: 60\narrivals:\n  - burst: {at_s: 0, files: 4, groups: 2, spread_s: 10}\n",
                    encoding="utf-8")
    stack = (ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    assert "aws:region: eu-west-1" in stack
    result = CliRunner().invoke(app, ["simulate", "--stack", "dev", "--scenario", str(path)],
                                catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "list prices, eu-west-1" in flat
    assert "prices for eu-west-1:" in flat
