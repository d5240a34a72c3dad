"""Model versions on disk → loaded servables: polling, version policy, labels and status.

A new version is loaded and warmed up before an older one is unloaded, and a version that fails
to load is reported in the status and excluded from the version policy, so it never displaces
a working one. Versions whose folders disappear are unloaded (rollback).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from serving.modelserver.errors import InvalidArgument, NotFound, ServingError
from serving.modelserver.servable import Servable

log = logging.getLogger(__name__)

Loader = Callable[[str, int, Path], Servable]
LoadListener = Callable[[str, int, float, ServingError | None], None]


class State(enum.IntEnum):
    """ModelVersionStatus.State values."""

    START = 10
    LOADING = 20
    AVAILABLE = 30
    UNLOADING = 40
    END = 50


@dataclass
class VersionStatus:
    version: int
    state: State
    error: ServingError | None = None


@dataclass
class _Model:
    config: object
    servables: dict[int, Servable] = field(default_factory=dict)
    statuses: dict[int, VersionStatus] = field(default_factory=dict)
    failed: set[int] = field(default_factory=set)


def versions_on_disk(base_path: Path) -> list[int]:
    """Integer-named folders holding a saved_model.pb, ascending."""
    if not base_path.is_dir():
        return []
    return sorted(
        int(p.name)
        for p in base_path.iterdir()
        if p.name.isdigit()
        and ((p / "saved_model.pb").exists() or (p / "saved_model.pbtxt").exists())
    )


def aspired_versions(policy, available: list[int]) -> set[int]:
    """Apply a ServableVersionPolicy (latest N by default, all, or specific) to versions on disk."""
    choice = policy.WhichOneof("policy_choice")
    if choice == "all":
        return set(available)
    if choice == "specific":
        return set(policy.specific.versions) & set(available)
    count = policy.latest.num_versions if choice == "latest" and policy.latest.num_versions else 1
    return set(available[-count:])


class ModelManager:
    """Owns every model's versions; safe to call from request threads while polling runs."""

    def __init__(
        self,
        loader: Loader,
        on_load: LoadListener | None = None,
        allow_labels_for_unavailable: bool = False,
    ):
        self._loader = loader
        self._on_load = on_load or (lambda *args: None)
        self._allow_unavailable_labels = allow_labels_for_unavailable
        self._models: dict[str, _Model] = {}
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()

    def apply_config(self, model_configs) -> None:
        """Make the served set match `model_configs` (ModelConfig protos), loading as needed."""
        names = [c.name for c in model_configs]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise InvalidArgument(f"duplicate model names in config: {sorted(duplicates)}")
        for config in model_configs:
            if not config.name or not config.base_path:
                raise InvalidArgument("every model config needs a name and a base_path")
            if config.model_platform not in ("", "tensorflow"):
                raise InvalidArgument(
                    f"{config.name}: unsupported platform {config.model_platform}"
                )
        with self._sync_lock:
            with self._lock:
                removed = [self._models.pop(n) for n in list(self._models) if n not in names]
                for config in model_configs:
                    model = self._models.setdefault(config.name, _Model(config))
                    model.config = config
            for model in removed:
                self._unload(model, list(model.servables))
            self._sync_all()
        self._check_labels(model_configs)

    def poll(self) -> None:
        """Look at every base path once and load/unload accordingly."""
        with self._sync_lock:
            self._sync_all()

    def run_polling(self, interval_seconds: float, stop: threading.Event) -> None:
        """Poll every `interval_seconds` until `stop` is set (0 disables polling)."""
        while interval_seconds > 0 and not stop.wait(interval_seconds):
            try:
                self.poll()
            except Exception:
                log.exception("file system poll failed")

    def resolve(self, name: str, version: int | None = None, label: str | None = None) -> Servable:
        """The servable for a model spec: a version, a label, or the latest available."""
        with self._lock:
            model = self._models.get(name)
            if model is None:
                raise NotFound(f"Servable not found for request: Latest({name})")
            if label:
                labels = dict(model.config.version_labels)
                if label not in labels:
                    raise InvalidArgument(f"Unrecognized servable version label: {label}")
                version = labels[label]
            if version is not None:
                servable = model.servables.get(version)
                if servable is None:
                    raise NotFound(f"Servable not found for request: Specific({name}, {version})")
                return servable
            if not model.servables:
                raise NotFound(f"Servable not found for request: Latest({name})")
            return model.servables[max(model.servables)]

    def statuses(self, name: str, version: int | None = None) -> list[VersionStatus]:
        with self._lock:
            model = self._models.get(name)
            if model is None:
                raise NotFound(f"Could not find any versions of model {name}")
            if version is None:
                return [model.statuses[v] for v in sorted(model.statuses)]
            if version not in model.statuses:
                raise NotFound(f"Could not find version {version} of model {name}")
            return [model.statuses[version]]

    def model_names(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def labels(self, name: str) -> dict[str, int]:
        with self._lock:
            model = self._models.get(name)
            return dict(model.config.version_labels) if model else {}

    def all_available(self) -> bool:
        """Every configured model has at least one AVAILABLE version."""
        with self._lock:
            return all(model.servables for model in self._models.values())

    def unload_all(self) -> None:
        with self._lock:
            models = list(self._models.values())
        for model in models:
            self._unload(model, list(model.servables))

    def _sync_all(self) -> None:
        with self._lock:
            models = list(self._models.values())
        for model in models:
            self._sync(model)

    def _sync(self, model: _Model) -> None:
        name = model.config.name
        on_disk = versions_on_disk(Path(model.config.base_path))
        candidates = [v for v in on_disk if v not in model.failed]
        aspired = aspired_versions(model.config.model_version_policy, candidates)
        for version in sorted(aspired - set(model.servables)):
            self._load(model, version)
        stale = [v for v in model.servables if v not in aspired]
        if stale and (not aspired or any(v in model.servables for v in aspired)):
            self._unload(model, stale)
        with self._lock:
            for version in [v for v in model.failed if v not in on_disk]:
                model.failed.discard(version)
                model.statuses.pop(version, None)
        log.debug("%s: on disk %s, serving %s", name, on_disk, sorted(model.servables))

    def _load(self, model: _Model, version: int) -> None:
        name = model.config.name
        path = Path(model.config.base_path) / str(version)
        with self._lock:
            model.statuses[version] = VersionStatus(version, State.LOADING)
        started = time.perf_counter()
        try:
            servable = self._loader(name, version, path)
        except Exception as error:
            failure = (
                error
                if isinstance(error, ServingError)
                else ServingError(
                    f"Failed to load servable version {version} of {name} from {path}: "
                    f"{type(error).__name__}: {error}"
                )
            )
            log.error("%s", failure)
            with self._lock:
                model.failed.add(version)
                model.statuses[version] = VersionStatus(version, State.END, failure)
            self._on_load(name, version, time.perf_counter() - started, failure)
            return
        with self._lock:
            model.servables[version] = servable
            model.statuses[version] = VersionStatus(version, State.AVAILABLE)
        log.info("%s: version %d available (%.1f s)", name, version, time.perf_counter() - started)
        self._on_load(name, version, time.perf_counter() - started, None)

    def _unload(self, model: _Model, versions: list[int]) -> None:
        with self._lock:
            for version in versions:
                model.servables.pop(version, None)
                model.statuses[version] = VersionStatus(version, State.END)
                log.info("%s: version %d unloaded", model.config.name, version)

    def _check_labels(self, model_configs) -> None:
        if self._allow_unavailable_labels:
            return
        for config in model_configs:
            with self._lock:
                serving = set(self._models[config.name].servables)
            for label, version in config.version_labels.items():
                if version not in serving:
                    raise InvalidArgument(
                        f"model {config.name}: label '{label}' points to version {version}, "
                        "which is not available (see --allow_version_labels_for_unavailable_models)"
                    )
