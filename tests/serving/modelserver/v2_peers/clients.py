"""Run in the V2 clients' own virtual environment (tritonclient[grpc] and kserve, which pin
protobuf below 7): one client family against the model server, every answer printed as JSON
for the test to compare with TF Serving's `:predict`. One family a process: both register the
protocol's messages (`inference.*`) in protobuf's one descriptor pool.

    python clients.py triton|kserve GRPC_ADDRESS REST_URL < {"model": {"alias": values}}
"""

import asyncio
import json
import sys

import numpy as np


def triton(address: str, rest_url: str, rows: dict) -> dict:
    import tritonclient.grpc as triton_grpc

    client = triton_grpc.InferenceServerClient(address)
    found = {"live": client.is_server_live(), "ready": client.is_server_ready(), "models": {}}
    for model, tensors in rows.items():
        inputs = []
        for alias, values in tensors.items():
            array = np.asarray(values, np.float32)
            tensor = triton_grpc.InferInput(alias, list(array.shape), "FP32")
            tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        answer = client.infer(model, inputs)
        metadata = client.get_model_metadata(model, as_json=True)
        found["models"][model] = {
            "ready": client.is_model_ready(model),
            "outputs": {
                o["name"]: answer.as_numpy(o["name"]).tolist() for o in metadata["outputs"]
            },
        }
    try:
        client.infer("nope", inputs)
        found["unknown model"] = "answered"
    except triton_grpc.InferenceServerException as error:
        found["unknown model"] = error.status()
    client.close()
    return found


async def kserve_clients(address: str, rest_url: str, rows: dict) -> dict:
    from kserve import (
        InferenceGRPCClient,
        InferenceRESTClient,
        InferInput,
        InferRequest,
        RESTConfig,
    )

    rest = InferenceRESTClient(RESTConfig(protocol="v2"))
    grpc_client = InferenceGRPCClient(address)
    found = {
        "rest ready": await rest.is_server_ready(rest_url),
        "grpc ready": await grpc_client.is_server_ready(),
        "rest": {},
        "grpc": {},
    }
    for model, tensors in rows.items():
        inputs = [
            InferInput(alias, list(np.shape(values)), "FP32", np.asarray(values, np.float32))
            for alias, values in tensors.items()
        ]
        request = InferRequest(model_name=model, infer_inputs=inputs)
        for side, answer in (
            ("rest", await rest.infer(rest_url, request, model_name=model)),
            ("grpc", await grpc_client.infer(request)),
        ):
            found[side][model] = {
                output.name: output.as_numpy().tolist() for output in answer.outputs
            }
    await rest.close()
    await grpc_client.close()
    return found


def kserve(address: str, rest_url: str, rows: dict) -> dict:
    return asyncio.run(kserve_clients(address, rest_url, rows))


def main() -> None:
    family, address, rest_url = sys.argv[1:4]
    rows = json.loads(sys.stdin.read())
    print(json.dumps({"triton": triton, "kserve": kserve}[family](address, rest_url, rows)))


if __name__ == "__main__":
    main()
