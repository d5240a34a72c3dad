"""Start the peer frameworks from their own virtual environments (`make peers`) on a free
loopback port, serving one SavedModel version at POST /v1/digits."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from contract.layout import SERVED_BATCH_SIZES
from serving.processes import REPO, ServerProcess, free_port, wait_for_http, wait_until_ready

PEERS_DIR = REPO / ".peers"
NAMES = ("bentoml", "ray")
READY_S = 300


def installed(name: str) -> bool:
    return (PEERS_DIR / name / ".stamp").exists()


def start(name: str, version: Path, workdir: Path) -> ServerProcess:
    """The peer `name` serving `version`, once it answers."""
    port = free_port()
    sizes = ",".join(str(size) for size in SERVED_BATCH_SIZES)
    bin_dir = PEERS_DIR / name / "bin"
    if name == "bentoml":
        command = [
            *(str(bin_dir / "bentoml"), "serve", "loadtest.peers.bentoml_service:Digits"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ]
        env = {"PEER_MODEL_DIR": str(version), "PEER_BATCH_SIZES": sizes}
    else:
        command = [
            *(str(bin_dir / "python"), "-m", "loadtest.peers.ray_app", "--port", str(port)),
            *("--model-dir", str(version), "--batch-sizes", sizes),
        ]
        env = {}
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env={**_clean_environment(), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    peer = ServerProcess(process, "", f"http://127.0.0.1:{port}", log_path, own_group=True)
    if name == "bentoml":
        return wait_for_http(peer, "/readyz", READY_S, name)
    return wait_until_ready(
        peer, lambda: "ray serve ready" in peer.log_tail(chars=None), READY_S, name
    )


def _clean_environment() -> dict[str, str]:
    """This process's environment without the project venv's traces."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
