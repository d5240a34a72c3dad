"""`make k8s`: the Kubernetes manifests under deploy/k8s, rendered.

Writes the model server's configs into the kustomize base from the same sources `make run`
uses (models.config from contract.models with base path /models — no version labels, as the
cluster's storage is not known here; batching.config and monitoring.config from
serving/config), then renders each kustomization with `kubectl kustomize` into
run/k8s/<name>.yaml, ready for `kubectl apply -f` (or apply the directories with -k).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from serving import launcher

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "k8s"
KUSTOMIZATIONS = {
    "tfserving-gpu": DEPLOY / "overlays" / "tfserving-gpu",
    "embedded-cpu": DEPLOY / "overlays" / "embedded-cpu",
    "loadtest": DEPLOY / "loadtest",
}
CONFIG_DIR = DEPLOY / "base" / "config"


def expected_configs() -> dict[str, str]:
    """What the base's config files must hold: file name → text."""
    configs = {"models.config": launcher.models_config(launcher.CONTAINER_MODELS, None)}
    for name in ("batching.config", "monitoring.config"):
        configs[name] = (launcher.CONFIG_DIR / name).read_text()
    return configs


def write_configs() -> None:
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in expected_configs().items():
        (CONFIG_DIR / name).write_text(text)


def render(kustomization: Path) -> str:
    """The kustomization as one multi-document YAML (kubectl's built-in kustomize)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("kubectl is needed to render the manifests (its built-in kustomize)")
    done = subprocess.run(
        [kubectl, "kustomize", str(kustomization)], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"kubectl kustomize {kustomization}: {done.stderr.strip()}")
    return done.stdout


def main() -> int:
    write_configs()
    out = REPO / "run" / "k8s"
    out.mkdir(parents=True, exist_ok=True)
    for name, kustomization in KUSTOMIZATIONS.items():
        (out / f"{name}.yaml").write_text(render(kustomization))
        print(out / f"{name}.yaml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
