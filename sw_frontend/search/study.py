"""The Optuna study of `ch search`, keyed by what defines it.

A study's trials are only comparable when they come from the same search: the same model and
float weights, dataset, cost function (and the mapper's target and objective), and search space.
That key is stored in the study (user attribute ``ch_key``) when it is created; joining an existing
study with a different key is refused naming the first difference, and ``--new-study`` replaces
the study.
A study that holds trials but no key (made by an older ``ch search``, or by hand) is refused too.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

import optuna
import sqlalchemy.exc
import torch
from torch import nn

from common.errors import ConfigError
from sw_frontend.search.objectives import DEFAULT_OBJECTIVE
from sw_frontend.search.space import SearchSpace
from sw_frontend.settings import Settings

KEY_ATTR = "ch_key"
DIRECTIONS = ["maximize", "minimize"]  # validation accuracy, hardware cost
RACE_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError)
#: Key fields that older studies lack, with the value they searched with.
LEGACY = {"objective": DEFAULT_OBJECTIVE}


def fingerprint(model: nn.Module) -> str:
    """16 hex digits of SHA-256 over the model's state dict (names, dtypes, shapes, values)."""
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()[:16]


def study_key(settings: Settings, space: SearchSpace, float_model: nn.Module) -> dict[str, Any]:
    """What defines a search: trials with different keys must not share a study."""
    key: dict[str, Any] = {
        "model": settings.model,
        "dataset": settings.dataset,
        "weights": fingerprint(float_model),
        "cost": settings.cost,
        "space": space.canonical(),
    }
    if settings.cost == "mapper":
        key["target_cycles"] = settings.target_cycles
        key["objective"] = settings.objective
    if settings.dataset in ("text", "lm"):
        key["max_seq_len"] = settings.max_seq_len
    return key


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else k))
    return out


def difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The first difference between two keys, in words (None when equal)."""
    for k in ("model", "dataset", "cost", "target_cycles", "objective", "max_seq_len"):
        was, now = old.get(k, LEGACY.get(k)), new.get(k, LEGACY.get(k))
        if was != now:
            return f"{k} {was!r}, not {now!r}"
    if old.get("space") != new.get("space"):
        a, b = _flat(old.get("space"), "search"), _flat(new.get("space"), "search")
        path = next(p for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p))
        return f"another search space ({path} was {a.get(path, 'unset')}, is {b.get(path, 'unset')} now)"
    if old.get("weights") != new.get("weights"):
        return (
            f"other float weights (fingerprint {old.get('weights')}, now {new.get('weights')}: "
            "another --load or a retrained checkpoint)"
        )
    return None


def make_sampler(name: str, seed: int, trials: int) -> optuna.samplers.BaseSampler:
    """The Optuna sampler of ``--sampler`` seeded with ``--seed``."""
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, min(50, trials // 2)))


def _bad_url(url: str, exc: BaseException) -> ConfigError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ConfigError(
        f"--storage {url}: {text[:200]} (give an SQLAlchemy URL such as sqlite:///study.db or postgresql://user@host/db)"
    )


def _delete(settings: Settings, url: str) -> int:
    """Delete the study ``--study-name`` if it exists; returns how many trials it held."""
    try:
        old = optuna.load_study(study_name=settings.study_name, storage=url)
    except KeyError:
        return 0
    except Exception as exc:  # noqa: BLE001 - sqlalchemy and optuna raise many types for a bad URL
        raise _bad_url(url, exc) from None
    count = len(old.get_trials(deepcopy=False))
    optuna.delete_study(study_name=settings.study_name, storage=url)
    return count


def open_study(settings: Settings, url: str, key: dict[str, Any], label: str = "", attempts: int = 5) -> optuna.Study:
    """Create or join the study and check its key (see module docstring); ``label`` names the
    storage in messages (default: the URL).

    Workers that start together may race to create the database tables (SQLite: "table already
    exists", "UNIQUE constraint failed", "database is locked"); the loser waits and joins.
    """
    if settings.new_study:
        gone = _delete(settings, url)
        if gone:
            print(f"deleted study '{settings.study_name}' ({gone} trials) from {label or url}; starting a new one")
    for attempt in range(attempts):
        try:
            study = optuna.create_study(
                study_name=settings.study_name,
                storage=url,
                directions=DIRECTIONS,
                load_if_exists=True,
                sampler=make_sampler(settings.sampler, settings.seed, settings.trials),
            )
            break
        except Exception as exc:  # noqa: BLE001 - sqlalchemy and optuna raise many types for a bad URL
            if attempt + 1 < attempts and isinstance(exc, RACE_ERRORS):
                time.sleep(0.5 + random.random())
                continue
            raise _bad_url(url, exc) from None
    else:  # pragma: no cover - the loop either breaks or raises
        raise AssertionError("unreachable")
    where = f"study '{settings.study_name}' in {label or url}"
    if [d.name for d in study.directions] != ["MAXIMIZE", "MINIMIZE"]:
        raise ConfigError(f"{where} is not an (accuracy, cost) study; pass --new-study or another --study-name")
    old = study.user_attrs.get(KEY_ATTR)
    if old is None:
        if study.get_trials(deepcopy=False):
            raise ConfigError(
                f"{where} holds trials but no record of what it searched (model, dataset, cost, space); "
                "pass --new-study to replace it or choose another --study-name"
            )
        study.set_user_attr(KEY_ATTR, key)
        return study
    diff = difference(old, key)
    if diff is not None:
        raise ConfigError(
            f"{where} was made for {diff}; pass --new-study to replace it (its trials are lost), "
            "or choose another --study-name or --project"
        )
    return study
