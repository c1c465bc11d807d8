"""At home for a Machop user: Machop's `[passes.quantize]` tables translated to ours."""

from __future__ import annotations

import tomllib

import pytest

from common.errors import ConfigError
from quant.config import QuantConfig
from quant.machop import match_node_names, translate_passes_quantize

MACHOP_BY_TYPE = """
[passes.quantize]
by = "type"
[passes.quantize.default.config]
name = "NA"
[passes.quantize.linear.config]
name = "integer"
data_in_width = 8
data_in_frac_width = 4
weight_width = 8
weight_frac_width = 6
bias_width = 8
bias_frac_width = 6
[passes.quantize.relu.config]
name = "integer"
data_in_width = 8
data_in_frac_width = 4
"""


def test_machop_by_type_table_translates_to_our_formats() -> None:
    machop = tomllib.loads(MACHOP_BY_TYPE)["passes"]["quantize"]
    table = translate_passes_quantize(machop)
    assert table == {
        "default": {"float": True},
        "by_type": {
            "linear": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4], "float": False},
            "relu": {"data_in": [8, 4], "data_out": [8, 4], "float": False},
        },
    }
    config = QuantConfig.from_dict(table)
    assert config.keeps_float("sig", "sigmoid") and not config.keeps_float("fc1", "linear")
    assert str(config.formats_for("fc1", "linear").weight) == "s8.6"


def test_machop_rules_frac_na_bias_by_name_and_node_names() -> None:
    table = translate_passes_quantize(
        {
            "by": "name",
            "default": {"config": {"name": "integer", "data_in_width": 8, "weight_width": 6}},
            "layer1_0_conv1": {"config": {"name": "fixed", "data_in_width": 4, "data_in_frac_width": "NA"}},
            "fc": {"config": {"name": "NA"}},
        }
    )
    assert table["default"] == {"data_in": [8, 4], "weight": [6, 3], "bias": [6, 3], "data_out": [8, 4]}
    assert table["by_name"]["layer1_0_conv1"] == {"data_in": [4, 2], "data_out": [4, 2]}
    assert table["by_name"]["fc"] == {"float": True}
    renamed = match_node_names(table, ["layer1.0.conv1", "fc"])
    assert set(renamed["by_name"]) == {"layer1.0.conv1", "fc"}
    # Machop's older module-level layout: fields straight in the entry, no .config table
    assert translate_passes_quantize({"by": "type", "linear": {"name": "integer", "weight_width": 4}}) == {
        "by_type": {"linear": {"weight": [4, 2], "bias": [4, 2]}}
    }


@pytest.mark.parametrize(
    "table,needle",
    [
        ({"by": "regex_name"}, 'reads by = "type" or by = "name"'),
        ({"by": "type", "linear": {"config": {"name": "minifloat_ieee"}}}, "fixed point only"),
        ({"by": "type", "add": {"config": {"name": "integer", "data_in_width": 8}}}, "no quantized 'add'"),
        ({"by": "type", "linaer": {"config": {"name": "NA"}}}, "unknown layer type 'linaer'"),
        ({"by": "type", "linear": {"config": {"name": "integer", "weigth_width": 8}}}, "unknown key 'weigth_width'"),
    ],
)
def test_machop_tables_we_cannot_honour_are_refused(table: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        translate_passes_quantize(table)
    assert translate_passes_quantize({"by": "type", "add": {"config": {"name": "NA"}}}) == {}
