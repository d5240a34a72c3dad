"""Model versions on disk → loaded servables, as TF Serving's ServerCore manages them.

Semantics follow TF Serving's `model_servers/server_core.cc`,
`sources/storage_path/file_system_storage_path_source.cc`, `core/loader_harness.cc` and
`core/servable_state_monitor.cc`:
- a version is any child of the base path whose name parses as an integer; it keeps its name
  on disk (`00000123` is version 123);
- the version policy (latest N, all, specific) picks the aspired versions; a new version is
  loaded, with retries, before an older one is unloaded, and a version that fails stays in END
  with its error while the older one keeps serving;
- a config is applied by loading its new models and waiting until each has a version available
  (a model with no version yet is waited for); if a model's versions all fail, applying fails
  with TF Serving's "N model(s) did not become available" error, and at startup the server exits;
- labels are checked and swapped once the config's models are loaded;
- status lists every version the server has seen, newest first, ignoring labels.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from contract.layout import version_of
from serving.modelserver.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ServingError,
)

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class ManagerOptions:
    max_num_load_retries: int = 5
    load_retry_interval_micros: int = 60_000_000
    file_system_poll_wait_seconds: int = 1
    num_load_threads: int = 0
    num_initial_load_threads: int = field(default_factory=lambda: 4 * (os.cpu_count() or 1))
    allow_version_labels_for_unavailable_models: bool = False


Loader = Callable[[str, int, Path], object]
Unloader = Callable[[object], None]


@dataclass
class _Model:
    config: object
    servables: dict[int, object] = field(default_factory=dict)
    statuses: dict[int, VersionStatus] = field(default_factory=dict)
    failed: set[int] = field(default_factory=set)
    aspired: set[int] = field(default_factory=set)


def versions_on_disk(base_path: Path) -> dict[int, Path]:
    """Children named as integers, by version; of two names for one number the later wins."""
    versions = {}
    for child in sorted(base_path.iterdir(), key=lambda p: p.name):
        number = version_of(child.name)
        if number is not None:
            if number in versions:
                log.warning(
                    "Duplicate version directories detected. Version %d will be loaded from %s, "
                    "%s will be ignored.",
                    number,
                    child.name,
                    versions[number].name,
                )
            versions[number] = child
    return versions


def aspired_versions(policy, available: list[int]) -> set[int]:
    """A ServableVersionPolicy (latest N by default, all, or specific) over versions on disk."""
    choice = policy.WhichOneof("policy_choice")
    if choice == "all":
        return set(available)
    if choice == "specific":
        return set(policy.specific.versions) & set(available)
    count = max(policy.latest.num_versions, 1) if choice == "latest" else 1
    return set(sorted(available)[-count:])


def servable_id(name: str, version: int) -> str:
    return f"{{name: {name} version: {version}}}"


class ModelManager:
    """Owns every model's versions; safe to call from request threads while polling runs."""

    def __init__(self, loader: Loader, unloader: Unloader, options: ManagerOptions):
        self._loader = loader
        self._unloader = unloader
        self.options = options
        self._models: dict[str, _Model] = {}
        self._labels: dict[str, dict[str, int]] = {}
        self._seen: dict[str, dict[int, VersionStatus]] = {}
        """Every model's version states, kept after a model is removed (as TF Serving's
        ServableStateMonitor keeps them)."""
        self._config: list = []
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()
        self._stopping = threading.Event()
        self._initial = True

    def apply_config(self, model_configs) -> None:
        """ServerCore::ReloadConfig: validate, unload removed models, load and await new ones,
        then check and swap the version labels. Raises a ServingError when it cannot."""
        _validate(model_configs)
        with self._sync_lock:
            if model_configs == self._config and not self._initial:
                return
            with self._lock:
                names = [c.name for c in model_configs]
                removed = [self._models.pop(n) for n in list(self._models) if n not in names]
                new = [c.name for c in model_configs if c.name not in self._models]
                for config in model_configs:
                    self._models.setdefault(config.name, _Model(config)).config = config
            for model in removed:
                self._unload(model, list(model.servables))
            self._await_models(new)
            self._labels = self._checked_labels(model_configs)
            self._config = list(model_configs)
            self._initial = False

    def poll(self) -> None:
        """Look at every base path once and load/unload accordingly."""
        with self._sync_lock:
            self._sync_all()

    def run_polling(self, stop: threading.Event) -> None:
        """Poll every file_system_poll_wait_seconds until `stop` (never when that is <= 0)."""
        interval = self.options.file_system_poll_wait_seconds
        while interval > 0 and not stop.wait(interval):
            try:
                self.poll()
            except Exception:
                log.exception("file system poll failed")

    def stop(self) -> None:
        """Cancel load retries; unload nothing (in-flight requests keep their servables)."""
        self._stopping.set()

    def names(self) -> list[str]:
        """The models the configuration names."""
        with self._lock:
            return list(self._models)

    def resolve(self, name: str, version: int | None = None, label: str | None = None):
        """ServerCore::GetServableHandle for a model spec: a version, a label, or the latest."""
        if not name:
            raise InvalidArgument("ModelSpec has no name specified.")
        with self._lock:
            if label:
                version = self._labels.get(name, {}).get(label)
                if version is None:
                    raise InvalidArgument(f"Unrecognized servable version label: {label}")
            model = self._models.get(name)
            if version is not None:
                servable = model.servables.get(version) if model else None
                if servable is None:
                    raise NotFound(f"Servable not found for request: Specific({name}, {version})")
                return servable
            if model is None or not model.servables:
                raise NotFound(f"Servable not found for request: Latest({name})")
            return model.servables[max(model.servables)]

    def statuses(self, name: str, version: int | None = None) -> list[VersionStatus]:
        """GetModelStatusImpl: one version's state, or every version's, newest first."""
        with self._lock:
            statuses = self._seen.get(name, {})
            if version is not None:
                if version not in statuses:
                    raise NotFound(f"Could not find version {version} of model {name}")
                return [statuses[version]]
            if not statuses:
                raise NotFound(f"Could not find any versions of model {name}")
            return [statuses[v] for v in sorted(statuses, reverse=True)]

    def _await_models(self, names: list[str]) -> None:
        waiting = set(names)
        while True:
            self._sync_all()
            with self._lock:
                failed = {n: self._models[n] for n in waiting if self._has_failed(self._models[n])}
                waiting = {n for n in waiting if n not in failed and not self._models[n].servables}
            if failed:
                raise _not_available(failed)
            if not waiting:
                return
            interval = self.options.file_system_poll_wait_seconds
            if self._stopping.wait(interval if interval > 0 else 1.0):
                raise ServingError("stopped while waiting for models to load")

    def _has_failed(self, model: _Model) -> bool:
        """Nothing serves and every version the policy wants has failed to load."""
        if model.servables or not model.failed:
            return False
        wanted = aspired_versions(model.config.model_version_policy, list(model.statuses))
        return wanted <= model.failed

    def _sync_all(self) -> None:
        with self._lock:
            models = list(self._models.values())
        jobs = []
        for model in models:
            jobs.extend(self._plan(model))
        threads = (
            self.options.num_initial_load_threads
            if self._initial
            else self.options.num_load_threads
        )
        if threads > 0 and len(jobs) > 1:
            with ThreadPoolExecutor(max_workers=min(threads, len(jobs))) as pool:
                list(pool.map(lambda job: self._load(*job), jobs))
        else:
            for job in jobs:
                self._load(*job)
        for model in models:
            self._unload_stale(model)

    def _plan(self, model: _Model) -> list[tuple[_Model, int, Path]]:
        """The versions of `model` to load now."""
        base = Path(model.config.base_path)
        try:
            on_disk = versions_on_disk(base)
        except OSError as error:
            log.error(
                "Could not find base path %s for servable %s with error %s",
                base,
                model.config.name,
                error.strerror or error,
            )
            return []
        if not on_disk:
            log.warning(
                "No versions of servable %s found under base path %s. Did you forget to name "
                "your leaf directory as a number (eg. '/1/')?",
                model.config.name,
                base,
            )
        with self._lock:
            for version in [v for v in model.failed if v not in on_disk]:
                model.failed.discard(version)
            candidates = [v for v in on_disk if v not in model.failed]
            model.aspired = aspired_versions(model.config.model_version_policy, candidates)
            return [
                (model, version, on_disk[version])
                for version in sorted(model.aspired - set(model.servables))
            ]

    def _load(self, model: _Model, version: int, path: Path) -> None:
        name = model.config.name
        self._set_status(model, VersionStatus(version, State.LOADING))
        attempts = 1 + max(0, self.options.max_num_load_retries)
        description = f"Loading servable: {servable_id(name, version)}"
        for attempt in range(attempts):
            if attempt:
                wait = max(0, self.options.load_retry_interval_micros) / 1e6
                if self._stopping.wait(wait):
                    break
                log.info("Retrying of %s retry: %d", description, attempt)
            try:
                started = time.perf_counter()
                servable = self._loader(name, version, path)
            except ServingError as error:
                failure = error
            except Exception as error:  # a loader bug must not take the poller down
                log.exception("%s raised", description)
                failure = ServingError(f"{type(error).__name__}: {error}")
            else:
                with self._lock:
                    model.servables[version] = servable
                    self._set_status(model, VersionStatus(version, State.AVAILABLE))
                log.info(
                    "Successfully loaded servable version %s (%.1f s)",
                    servable_id(name, version),
                    time.perf_counter() - started,
                )
                return
            log.error("%s failed: %s", description, failure.status_string())
        if attempts > 1:
            log.info("Retrying of %s exhausted max_num_load_retries: %d", description, attempts - 1)
        with self._lock:
            model.failed.add(version)
            self._set_status(model, VersionStatus(version, State.END, failure))

    def _unload_stale(self, model: _Model) -> None:
        with self._lock:
            stale = [v for v in model.servables if v not in model.aspired]
            keep_serving = model.aspired and not any(v in model.servables for v in model.aspired)
        if stale and not keep_serving:
            self._unload(model, stale)

    def _unload(self, model: _Model, versions: list[int]) -> None:
        for version in versions:
            with self._lock:
                servable = model.servables.pop(version, None)
                self._set_status(model, VersionStatus(version, State.END))
            if servable is not None:
                self._unloader(servable)
                log.info("Unloaded servable version %s", servable_id(model.config.name, version))

    def _set_status(self, model: _Model, status: VersionStatus) -> None:
        with self._lock:
            model.statuses[status.version] = status
            self._seen.setdefault(model.config.name, {})[status.version] = status

    def _checked_labels(self, model_configs) -> dict[str, dict[str, int]]:
        """ServerCore::UpdateModelVersionLabelMap."""
        labels: dict[str, dict[str, int]] = {}
        allow = self.options.allow_version_labels_for_unavailable_models
        with self._lock:
            for config in model_configs:
                serving = self._models[config.name].servables
                for label, version in config.version_labels.items():
                    existing = self._labels.get(config.name, {}).get(label)
                    may_point_anywhere = allow and (existing is None or existing == version)
                    if not may_point_anywhere and version not in serving:
                        raise FailedPrecondition(
                            f"Request to assign label to version {version} of model "
                            f"{config.name}, which is not currently available for inference"
                        )
                    labels.setdefault(config.name, {})[label] = version
        return labels


def _validate(model_configs) -> None:
    """ValidateModelConfigList and the platform check."""
    seen = set()
    for config in model_configs:
        if config.name in seen:
            raise InvalidArgument(
                f"Illegal to list model {config.name} multiple times in config list"
            )
        seen.add(config.name)
        if not _is_absolute(config.base_path):
            raise InvalidArgument(
                f"Expected model {config.name} to have an absolute path or URI; got "
                f"base_path()={config.base_path}"
            )
        if config.model_platform not in ("", "tensorflow"):
            raise InvalidArgument(
                f"Model {config.name} requested unsupported platform {config.model_platform}"
            )


def _is_absolute(path: str) -> bool:
    return path.startswith("/") or "://" in path


def _not_available(failed: dict[str, _Model]) -> ServingError:
    details = "".join(
        f"{{{servable_id(name, version)} due to error: {status.error.status_string()}}}, "
        for name, model in sorted(failed.items())
        for version, status in sorted(model.statuses.items())
        if status.error is not None
    )
    count = len(failed)
    return ServingError(f"{count} model(s) did not become available: {{{details}}}")
