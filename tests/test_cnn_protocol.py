"""The CNN target protocol: a CNN as plain dicts in torch's conventions, rebuilt bit for bit,
saved to and loaded from one ``.npz`` file, with errors that name the layer."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import strategies as lst
from lrp_invariants.cnn import (
    CNN,
    AdaptiveAvgPool,
    AvgPool,
    BatchNorm,
    Conv,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    Residual,
    cnn_from_specs,
    describe_specs,
    forward,
    layer_specs,
    load_cnn,
    save_cnn,
)
from lrp_invariants.cnn.constructions import compensate_shift, shift_as_input


def same(a: Any, b: Any) -> bool:
    """Equal structure, equal plain values, and arrays equal in dtype and in every bit."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.tobytes() == b.tobytes()
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def same_forward(one: CNN, other: CNN, x: np.ndarray) -> bool:
    """Every layer's output bit for bit."""
    a, b = forward(one, x), forward(other, x)
    return len(a.outputs) == len(b.outputs) and all(map(same, a.outputs, b.outputs))


def as_float32(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.astype(np.float32)
    if isinstance(value, dict):
        return {k: as_float32(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_float32(v) for v in value]
    return value


def plain_types(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_types(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(map(plain_types, value))
    return value is None or type(value) in (str, int, float, bool, np.ndarray)


@given(lst.cnn_cases())
def test_specs_rebuild_a_cnn_whose_forward_pass_is_bit_identical(case: lst.CNNCase) -> None:
    specs = layer_specs(case.cnn)
    rebuilt = cnn_from_specs(specs, case.cnn.input_shape)
    assert rebuilt.input_shape == case.cnn.input_shape and rebuilt.dtype == case.cnn.dtype
    assert same_forward(case.cnn, rebuilt, case.x)
    assert same(layer_specs(rebuilt), specs)


@given(lst.cnn_seed_cases())
def test_net2_with_its_bias_map_round_trips_through_a_file(case: lst.CNNSeedCase) -> None:
    net2 = compensate_shift(case.net1, case.m)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "seed.npz"
        save_cnn(path, net2, x1=case.x1, m=case.m, classes=case.classes)
        loaded, arrays = load_cnn(path)
    assert same(layer_specs(loaded), layer_specs(net2))
    assert same(arrays, {"x1": case.x1, "m": case.m, "classes": case.classes})
    assert same_forward(net2, loaded, case.x2)


@given(lst.cnn_cases())
def test_save_and_load_round_trip_the_cnn_and_the_named_arrays(case: lst.CNNCase) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "case.npz"
        save_cnn(path, case.cnn, x=case.x, classes=case.classes)
        loaded, arrays = load_cnn(path)
    assert same_forward(case.cnn, loaded, case.x)
    assert same(layer_specs(loaded), layer_specs(case.cnn))
    assert same(arrays, {"x": case.x, "classes": case.classes})


@given(lst.cnns(), st.integers(1, 3))
def test_float32_specs_round_trip_in_float32(cnn: CNN, n: int) -> None:
    specs = as_float32(layer_specs(cnn))
    rebuilt = cnn_from_specs(specs, cnn.input_shape)
    assert rebuilt.dtype == np.float32 and same(layer_specs(rebuilt), specs)
    x = np.linspace(-2, 2, n * int(np.prod(cnn.input_shape)), dtype=np.float32)
    x = x.reshape(n, *cnn.input_shape)
    with tempfile.TemporaryDirectory() as directory:
        save_cnn(Path(directory) / "f32.npz", rebuilt, x=x)
        loaded, arrays = load_cnn(Path(directory) / "f32.npz")
    assert loaded.dtype == np.float32 and same(arrays["x"], x)
    with np.errstate(over="ignore", invalid="ignore"):  # drawn scales may overflow float32
        assert same_forward(rebuilt, loaded, x)


@given(lst.cnns())
def test_specs_hold_only_plain_types(cnn: CNN) -> None:
    assert plain_types(layer_specs(cnn))


@given(lst.cnns())
def test_the_description_has_one_line_per_layer(cnn: CNN) -> None:
    def count(layers: tuple[Any, ...]) -> int:
        nested = (
            count(r.branch) + (r.downsample is not None) for r in layers if isinstance(r, Residual)
        )
        return len(layers) + sum(nested)

    text = describe_specs(layer_specs(cnn), cnn.input_shape)
    assert len(text.splitlines()) == 1 + count(cnn.layers)
    assert text.splitlines()[-1].endswith(f"-> {cnn.output_shape}")


def example_specs() -> list[dict[str, Any]]:
    """A small CNN on (2, 6, 6) with every kind of layer, as the protocol's dicts."""
    rng = np.random.default_rng(7)

    def conv(c_out: int, c_in: int, k: int, padding: int) -> dict[str, Any]:
        return {"kind": "conv", "weight": rng.normal(size=(c_out, c_in, k, k)),
                "bias": rng.normal(size=c_out), "stride": (1, 1),
                "padding": ((padding, padding),) * 2, "padding_mode": "zeros",
                "padding_value": 0.0, "dilation": (1, 1), "groups": 1}  # fmt: skip

    return [
        conv(3, 2, 3, 1),
        {
            "kind": "batch_norm",
            "weight": rng.normal(size=3),
            "bias": rng.normal(size=3),
            "running_mean": rng.normal(size=3),
            "running_var": rng.uniform(1, 2, size=3),
            "eps": 1e-5,
        },
        {"kind": "relu"},
        {
            "kind": "max_pool",
            "kernel_size": (2, 2),
            "stride": (1, 1),
            "padding": (1, 1),
            "dilation": (1, 1),
            "ceil_mode": False,
        },
        {
            "kind": "residual",
            "branch": [conv(3, 3, 3, 1), {"kind": "relu"}, conv(3, 3, 1, 0)],
            "downsample": None,
        },
        {
            "kind": "avg_pool",
            "kernel_size": (3, 3),
            "stride": (2, 2),
            "padding": (1, 1),
            "ceil_mode": True,
            "count_include_pad": False,
        },
        {"kind": "adaptive_avg_pool", "output_size": (2, 2)},
        {"kind": "flatten"},
        {"kind": "linear", "weight": rng.normal(size=(4, 12)), "bias": rng.normal(size=4)},
    ]


def test_a_hand_built_example_rebuilds_every_kind_of_layer() -> None:
    cnn = cnn_from_specs(example_specs(), (2, 6, 6))
    kinds = [type(layer) for layer in cnn.layers]
    assert kinds == [Conv, BatchNorm, ReLU, MaxPool, Residual, AvgPool, AdaptiveAvgPool, Flatten,
                     Dense]  # fmt: skip
    assert cnn.output_shape == (4,)


def test_the_hand_built_specs_come_back_exactly_from_the_cnn_and_from_a_file(
    tmp_path: Path,
) -> None:
    specs = example_specs()
    cnn = cnn_from_specs(specs, (2, 6, 6))
    assert same(layer_specs(cnn), specs)
    save_cnn(tmp_path / "example.npz", cnn)
    assert same(layer_specs(load_cnn(tmp_path / "example.npz")[0]), specs)


def test_a_linear_weight_is_torch_out_by_in_the_transpose_of_dense_w() -> None:
    W = np.arange(6.0).reshape(3, 2)  # Dense: (in=3, out=2)
    cnn = CNN((Flatten(), Dense(W, np.array([0.5, -0.5]))), (3,))
    linear = layer_specs(cnn)[1]
    assert linear["weight"].shape == (2, 3) and np.array_equal(linear["weight"], W.T)
    x = np.array([[1.0, 2.0, 4.0]])
    rebuilt = cnn_from_specs(layer_specs(cnn), (3,))
    expected = x @ linear["weight"].T + linear["bias"]  # torch's linear: x W^T + b
    assert np.array_equal(forward(rebuilt, x).logits, expected)


def test_specs_are_fresh_copies_of_the_layers_arrays() -> None:
    cnn = cnn_from_specs(example_specs(), (2, 6, 6))
    specs = layer_specs(cnn)
    conv = cnn.layers[0]
    assert isinstance(conv, Conv)
    assert specs[0]["weight"].flags.writeable
    assert not np.shares_memory(specs[0]["weight"], conv.weight)


def test_building_neither_modifies_the_callers_arrays_nor_keeps_them() -> None:
    specs = example_specs()
    before = [{k: np.copy(v) for k, v in s.items() if isinstance(v, np.ndarray)} for s in specs]
    x = np.linspace(-1, 1, 72).reshape(1, 2, 6, 6)
    cnn = cnn_from_specs(specs, (2, 6, 6))
    logits = forward(cnn, x).logits
    with tempfile.TemporaryDirectory() as directory:
        save_cnn(Path(directory) / "c.npz", cnn, x=x)
    for spec, old in zip(specs, before, strict=True):
        assert all(np.array_equal(spec[k], v) for k, v in old.items())
    specs[0]["weight"][...] = 0.0
    assert np.array_equal(forward(cnn, x).logits, logits)


def test_a_conv_with_a_constant_input_is_refused() -> None:
    cnn = cnn_from_specs(example_specs(), (2, 6, 6))
    net3 = shift_as_input(cnn, np.ones((2, 6, 6)))
    with pytest.raises(ValueError, match=r"layers\[0\].*no constant inputs"):
        layer_specs(net3)


def _set(index: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(specs: list[dict[str, Any]]) -> None:
        specs[index][key] = value

    return change


def _branch(change: Callable[[list[dict[str, Any]]], None]) -> Callable[[list[Any]], None]:
    return lambda specs: change(specs[4]["branch"])


def _set_entry(index: int, key: str, value: float) -> Callable[[list[dict[str, Any]]], None]:
    def change(specs: list[dict[str, Any]]) -> None:
        specs[index][key].flat[0] = value

    return change


BAD_SPECS = [
    ("unknown kind", _set(2, "kind", "gelu"), ValueError, r"layers\[2\]: unknown kind 'gelu'"),
    ("missing key", lambda s: s[0].pop("groups"), ValueError,
     r"layers\[0\] \(conv\): missing keys \['groups'\]"),
    ("extra key", _set(1, "momentum", 0.1), ValueError,
     r"layers\[1\] \(batch_norm\): .*unexpected keys \['momentum'\]"),
    ("not a dict", lambda s: s.__setitem__(3, "relu"), TypeError, r"layers\[3\] must be a dict"),
    ("int for a tuple", _set(0, "stride", 1), TypeError,
     r"layers\[0\].stride must be a tuple of ints"),
    ("list for an array", _set(8, "bias", [0.0] * 4), TypeError,
     r"layers\[8\].bias must be a numpy array or None"),
    ("integer array", _set(0, "weight", np.ones((3, 2, 3, 3), dtype=int)), TypeError,
     r"layers\[0\].weight has dtype int"),
    ("Dense's (in, out) weight", _set(8, "weight", np.ones((12, 4))), ValueError,
     r"layers\[8\]: weight must be \(out, in\)"),
    ("nan", _set_entry(1, "running_mean", np.nan), ValueError,
     r"layers\[1\].running_mean contains nan"),
    ("inf in a branch", _branch(_set_entry(0, "weight", np.inf)), ValueError,
     r"layers\[4\].branch\[0\].weight contains inf"),
    ("mixed dtypes", _set(8, "weight", np.ones((4, 12), dtype=np.float32)), TypeError,
     r"layers\[8\].weight has dtype float32 but layers\[0\].weight has float64"),
    ("groups 0", _set(0, "groups", 0), ValueError, r"layers\[0\]: groups=0"),
    ("shape in a branch", _branch(_set(2, "weight", np.ones((3, 2, 1, 1)))), ValueError,
     r"layers\[4\].branch\[2\]: .*2 input channels cannot take"),
    ("branch against shortcut",
     _branch(lambda b: b[2].update(weight=np.ones((2, 3, 1, 1)), bias=None)), ValueError,
     r"layers\[4\]: the branch gives shape \(2, 7, 7\) but the shortcut gives \(3, 7, 7\)"),
    ("unknown kind in a branch", _branch(_set(1, "kind", "tanh")), ValueError,
     r"layers\[4\].branch\[1\]: unknown kind 'tanh'"),
    ("downsample not a conv", _set(4, "downsample", {"kind": "relu"}), TypeError,
     r"layers\[4\].downsample must be a conv dict or None"),
    ("pooling padding over half the kernel", _set(3, "padding", (2, 2)), ValueError,
     r"layers\[3\]: pooling padding"),
    ("a bool for a float", _set(1, "eps", True), TypeError, r"layers\[1\].eps must be a float"),
    ("a bias map of the wrong shape", _set(0, "bias", np.ones((3, 5, 5))), ValueError,
     r"layers\[0\]: the bias map has shape \(3, 5, 5\) but the output is \(3, 6, 6\)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_SPECS],
)
def test_a_bad_spec_is_refused_naming_the_layer(
    change: Callable[[list[Any]], None], error: type[Exception], message: str
) -> None:
    specs = example_specs()
    change(specs)
    with pytest.raises(error, match=message):
        cnn_from_specs(specs, (2, 6, 6))


def test_a_bad_input_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="input_shape"):
        cnn_from_specs(example_specs(), (2, 0, 6))


def test_the_description_prints_small_arrays_repr_exact_and_large_ones_as_a_range() -> None:
    bias = np.array([0.1, 1 / 3])
    cnn = CNN((Flatten(), Dense(np.full((20, 2), 0.5), bias)), (20,))
    text = describe_specs(layer_specs(cnn), (20,))
    assert "bias=[0.1, 0.3333333333333333]" in text
    assert "weight=(2, 20) in [0.5, 0.5]" in text
    assert text.splitlines()[-1].endswith("-> (2,)")


def test_the_file_is_written_at_exactly_the_path_given(tmp_path: Path) -> None:
    cnn = cnn_from_specs(example_specs(), (2, 6, 6))
    save_cnn(tmp_path / "case.cnn", cnn)
    assert [p.name for p in tmp_path.iterdir()] == ["case.cnn"]
    assert load_cnn(tmp_path / "case.cnn")[1] == {}


def test_a_foreign_npz_is_refused_naming_the_missing_structure(tmp_path: Path) -> None:
    np.savez(tmp_path / "other.npz", weight=np.ones(3))
    with pytest.raises(ValueError, match="no 'structure' entry"):
        load_cnn(tmp_path / "other.npz")


def test_a_single_array_file_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "one.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"not an \.npz archive"):
        load_cnn(tmp_path / "one.npy")


@pytest.mark.parametrize("content", [b"not an array at all", b"PK\x03\x04 a broken zip"])
def test_a_file_that_is_no_archive_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "junk.npz").write_bytes(content)
    with pytest.raises(ValueError, match=r"not an \.npz archive"):
        load_cnn(tmp_path / "junk.npz")


def test_a_file_missing_a_layer_array_is_refused_naming_it(tmp_path: Path) -> None:
    save_cnn(tmp_path / "full.npz", cnn_from_specs(example_specs(), (2, 6, 6)), x=np.ones(2))
    with np.load(tmp_path / "full.npz") as data:
        kept = {k: data[k] for k in data.files if k != "layers/4/branch/0/weight"}
    np.savez(tmp_path / "cut.npz", **kept)
    with pytest.raises(ValueError, match="no array 'layers/4/branch/0/weight'"):
        load_cnn(tmp_path / "cut.npz")


def test_a_file_missing_a_named_array_is_refused_naming_it(tmp_path: Path) -> None:
    save_cnn(tmp_path / "full.npz", cnn_from_specs(example_specs(), (2, 6, 6)), m=np.ones(2))
    with np.load(tmp_path / "full.npz") as data:
        kept = {k: data[k] for k in data.files if k != "m"}
    np.savez(tmp_path / "cut.npz", **kept)
    with pytest.raises(ValueError, match=r"no arrays \['m'\]"):
        load_cnn(tmp_path / "cut.npz")


def test_a_structure_of_another_format_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "v9.npz", structure=np.array(json.dumps({"format": "other/9"})))
    with pytest.raises(ValueError, match="not of format"):
        load_cnn(tmp_path / "v9.npz")


@pytest.mark.parametrize("name", ["structure", "layers/0/weight"])
def test_reserved_array_names_are_refused(tmp_path: Path, name: str) -> None:
    cnn = cnn_from_specs(example_specs(), (2, 6, 6))
    with pytest.raises(ValueError, match="reserved name"):
        save_cnn(tmp_path / "c.npz", cnn, **{name: np.ones(2)})
